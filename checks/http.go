package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hostwatch/hostwatch/config"
)

// bodyLimit is how much of a response is read: enough to find a marker on
// any real page, small enough that a huge download cannot hurt the daemon.
// A longer body is cut there, and the connection is not reused.
const bodyLimit = 1 << 20

var errTooManyRedirects = errors.New("too many redirects")

// httpProbe is one HTTP check: its settings are read from its config,
// and what can be shared with other checks is, so that it costs 48 bytes.
type httpProbe struct {
	client  *http.Client
	cfg     *config.HTTPCheck
	header  http.Header
	match   *match // nil when the body is not looked at
	buffers *sync.Pool
}

// match is what a body must contain and must not, as bytes to look for.
type match struct {
	contains, notContains []byte
}

func newHTTP(e *Env, c *config.Check) (Checker, error) {
	h := c.HTTP
	transport := e.transports[transportKind{skipVerify: h.SkipTLSVerify, fresh: h.FreshConnection}]
	maxRedirects := config.DefaultMaxRedirects
	if h.MaxRedirects != nil {
		maxRedirects = *h.MaxRedirects
	}
	// The client, the headers and the buffers are shared by the checks
	// that can share them: with 100,000 checks, a copy of each per check
	// would be most of the daemon's memory.
	header := e.header
	if len(h.Headers) > 0 {
		header = http.Header{"User-Agent": {e.userAgent}}
		for k, v := range h.Headers {
			header.Set(k, v)
		}
	}
	p := &httpProbe{client: e.client(transport, maxRedirects), cfg: h, header: header, buffers: &e.buffers}
	if h.Contains != "" || h.NotContains != "" {
		key := [2]string{h.Contains, h.NotContains}
		m, ok := e.matches.Load(key)
		if !ok {
			mm := &match{}
			if h.Contains != "" {
				mm.contains = []byte(h.Contains)
			}
			if h.NotContains != "" {
				mm.notContains = []byte(h.NotContains)
			}
			m, _ = e.matches.LoadOrStore(key, mm)
		}
		p.match = m.(*match)
	}
	return p, nil
}

// client is the HTTP client of the checks that use transport and follow at
// most maxRedirects redirects.
func (e *Env) client(transport *http.Transport, maxRedirects int) *http.Client {
	key := clientKey{transport, maxRedirects}
	if c, ok := e.clients.Load(key); ok {
		return c.(*http.Client)
	}
	c, _ := e.clients.LoadOrStore(key, &http.Client{
		Transport: transport,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if maxRedirects == 0 {
				return http.ErrUseLastResponse
			}
			if len(via) > maxRedirects {
				return fmt.Errorf("%w: more than %d", errTooManyRedirects, maxRedirects)
			}
			return nil
		},
	})
	return c.(*http.Client)
}

type clientKey struct {
	transport    *http.Transport
	maxRedirects int
}

func (p *httpProbe) Check(ctx context.Context) Result {
	h := p.cfg
	var body io.Reader
	if h.Body != "" {
		body = strings.NewReader(h.Body)
	}
	req, err := http.NewRequestWithContext(ctx, h.Method, h.URL, body)
	if err != nil {
		return Result{Kind: "error", Error: err.Error()}
	}
	// Shared, never written: RoundTrip does not modify a request's headers,
	// and a check never runs twice at once.
	req.Header = p.header
	if host := p.header.Get("Host"); host != "" {
		req.Host = host // net/http sends req.Host, not a Host header
	}

	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return failure(ctx, err, time.Since(start))
	}
	defer resp.Body.Close()

	var buf *bytes.Buffer
	if p.match != nil {
		buf = p.buffers.Get().(*bytes.Buffer)
		defer func() { buf.Reset(); p.buffers.Put(buf) }()
		_, err = buf.ReadFrom(io.LimitReader(resp.Body, bodyLimit))
	} else {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, bodyLimit))
	}
	latency := time.Since(start)
	if err != nil {
		return failure(ctx, fmt.Errorf("read body: %w", err), latency)
	}

	r := Result{OK: true, Latency: latency, Evidence: evidence(resp)}
	var m match
	if p.match != nil {
		m = *p.match
	}
	switch {
	case !p.statusOK(resp.StatusCode):
		r.OK, r.Kind = false, "status"
		r.Error = fmt.Sprintf("status %d, want %s", resp.StatusCode, p.wantStatus())
	case m.contains != nil && !bytes.Contains(buf.Bytes(), m.contains):
		r.OK, r.Kind = false, "content"
		r.Error = fmt.Sprintf("body does not contain %q", m.contains)
	case m.notContains != nil && bytes.Contains(buf.Bytes(), m.notContains):
		r.OK, r.Kind = false, "content"
		r.Error = fmt.Sprintf("body contains %q", m.notContains)
	case h.MaxLatency.Duration > 0 && latency > h.MaxLatency.Duration:
		r.OK, r.Kind = false, "latency"
		r.Error = fmt.Sprintf("answered in %s, over max_latency %s", latency.Round(time.Millisecond), h.MaxLatency.Duration)
	}
	return r
}

func (p *httpProbe) statusOK(code int) bool {
	if len(p.cfg.Status) == 0 {
		return code >= 200 && code < 300
	}
	return slices.Contains(p.cfg.Status, code)
}

func (p *httpProbe) wantStatus() string {
	if len(p.cfg.Status) == 0 {
		return "2xx"
	}
	parts := make([]string, len(p.cfg.Status))
	for i, s := range p.cfg.Status {
		parts[i] = fmt.Sprint(s)
	}
	return strings.Join(parts, " or ")
}

func evidence(resp *http.Response) string {
	e := resp.Proto + " " + resp.Status
	if resp.Request != nil && resp.Request.Response != nil {
		e += " after redirect to " + resp.Request.URL.Redacted()
	}
	return e
}
