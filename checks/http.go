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

type httpProbe struct {
	client      *http.Client
	method      string
	url         string
	header      http.Header
	body        string
	status      []int
	contains    []byte
	notContains []byte
	maxLatency  time.Duration
	buffers     *sync.Pool
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
	p := &httpProbe{
		client:     e.client(transport, maxRedirects),
		method:     h.Method,
		url:        h.URL,
		header:     header,
		body:       h.Body,
		status:     h.Status,
		maxLatency: h.MaxLatency.Duration,
		buffers:    &e.buffers,
	}
	if h.Contains != "" {
		p.contains = []byte(h.Contains)
	}
	if h.NotContains != "" {
		p.notContains = []byte(h.NotContains)
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
	var body io.Reader
	if p.body != "" {
		body = strings.NewReader(p.body)
	}
	req, err := http.NewRequestWithContext(ctx, p.method, p.url, body)
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
	if p.contains != nil || p.notContains != nil {
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
	switch {
	case !p.statusOK(resp.StatusCode):
		r.OK, r.Kind = false, "status"
		r.Error = fmt.Sprintf("status %d, want %s", resp.StatusCode, p.wantStatus())
	case p.contains != nil && !bytes.Contains(buf.Bytes(), p.contains):
		r.OK, r.Kind = false, "content"
		r.Error = fmt.Sprintf("body does not contain %q", p.contains)
	case p.notContains != nil && bytes.Contains(buf.Bytes(), p.notContains):
		r.OK, r.Kind = false, "content"
		r.Error = fmt.Sprintf("body contains %q", p.notContains)
	case p.maxLatency > 0 && latency > p.maxLatency:
		r.OK, r.Kind = false, "latency"
		r.Error = fmt.Sprintf("answered in %s, over max_latency %s", latency.Round(time.Millisecond), p.maxLatency)
	}
	return r
}

func (p *httpProbe) statusOK(code int) bool {
	if len(p.status) == 0 {
		return code >= 200 && code < 300
	}
	return slices.Contains(p.status, code)
}

func (p *httpProbe) wantStatus() string {
	if len(p.status) == 0 {
		return "2xx"
	}
	parts := make([]string, len(p.status))
	for i, s := range p.status {
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
