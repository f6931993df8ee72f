package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
)

// The API's paths; a proxy may put them under a prefix of its own, and
// the signature covers these, not the prefix.
const (
	ChecksPath  = "/agent/v1/checks"
	ResultsPath = "/agent/v1/results"
)

// Assignment is the body of GET /agent/v1/checks: the checks an agent
// probes. A check's id is opaque to the agent: "merchant/check" for a
// merchant's check, and other forms for what the server adds later
// (canaries).
type Assignment struct {
	Checks []Check `json:"checks"`
}

// Check is one check as the server hands it to an agent: the file's own
// keys, after the defaults were applied. Exactly one of HTTP, TCP, DNS and
// TLS is set, the one Kind names; a heartbeat is never sent, as nothing
// probes it.
type Check struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Schedule string `json:"schedule"`
	// Timezone is the location a cron schedule's times are in, the
	// server's timezone; empty for "@every".
	Timezone string    `json:"timezone,omitempty"`
	Timeout  Duration  `json:"timeout"`
	HTTP     *HTTPWire `json:"http,omitempty"`
	TCP      *TCPWire  `json:"tcp,omitempty"`
	DNS      *DNSWire  `json:"dns,omitempty"`
	TLS      *TLSWire  `json:"tls,omitempty"`
}

// HTTPWire is config.HTTPCheck on the wire.
type HTTPWire struct {
	URL             string            `json:"url"`
	Method          string            `json:"method,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	Body            string            `json:"body,omitempty"`
	Status          []int             `json:"status,omitempty"`
	Contains        string            `json:"contains,omitempty"`
	NotContains     string            `json:"not_contains,omitempty"`
	MaxLatency      Duration          `json:"max_latency,omitzero"`
	MaxRedirects    *int              `json:"max_redirects,omitempty"`
	SkipTLSVerify   bool              `json:"skip_tls_verify,omitempty"`
	FreshConnection bool              `json:"fresh_connection,omitempty"`
}

// TCPWire is config.TCPCheck on the wire.
type TCPWire struct {
	Address string `json:"address"`
}

// DNSWire is config.DNSCheck on the wire.
type DNSWire struct {
	Name   string   `json:"name"`
	Type   string   `json:"type,omitempty"`
	Server string   `json:"server,omitempty"`
	Expect []string `json:"expect,omitempty"`
}

// TLSWire is config.TLSCheck on the wire.
type TLSWire struct {
	Address     string `json:"address"`
	ServerName  string `json:"server_name,omitempty"`
	MinDaysLeft int    `json:"min_days_left,omitempty"`
}

// Duration is a duration written as Go writes it: "10s", "1.5ms".
type Duration struct {
	time.Duration
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.Duration.String())
}

// UnmarshalJSON reads a string such as "10s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("must be a duration such as 10s or 1.5ms")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("must be a duration such as 10s or 1.5ms, not %q", clip(s, 40))
	}
	d.Duration = v
	return nil
}

// WireCheck is c as it is sent to an agent; false for a check no agent
// probes (a heartbeat).
func WireCheck(c *config.Check) (Check, bool) {
	w := Check{ID: c.ID, Kind: c.Kind(), Schedule: c.Schedule, Timeout: Duration{c.Timeout.Duration}}
	if s, ok := c.Cron.(*cron.SpecSchedule); ok && s.Location != nil && !hasTZ(c.Schedule) {
		w.Timezone = s.Location.String()
	}
	switch {
	case c.HTTP != nil:
		h := c.HTTP
		w.HTTP = &HTTPWire{URL: h.URL, Method: h.Method, Headers: h.Headers, Body: h.Body, Status: h.Status,
			Contains: h.Contains, NotContains: h.NotContains, MaxLatency: Duration{h.MaxLatency.Duration},
			MaxRedirects: h.MaxRedirects, SkipTLSVerify: h.SkipTLSVerify, FreshConnection: h.FreshConnection}
	case c.TCP != nil:
		w.TCP = &TCPWire{Address: c.TCP.Address}
	case c.DNS != nil:
		w.DNS = &DNSWire{Name: c.DNS.Name, Type: c.DNS.Type, Server: c.DNS.Server, Expect: c.DNS.Expect}
	case c.TLS != nil:
		w.TLS = &TLSWire{Address: c.TLS.Address, ServerName: c.TLS.ServerName, MinDaysLeft: c.TLS.MinDaysLeft}
	default:
		return Check{}, false
	}
	return w, true
}

// hasTZ reports whether a cron spec names its own time zone.
func hasTZ(spec string) bool {
	return strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=")
}

// Config is the check w describes, ready for checks.Env.New and a
// schedule. It refuses what the daemon's own validation would have:
// a server newer than the agent may send a kind it does not know.
func (w Check) Config() (*config.Check, error) {
	c := &config.Check{Name: w.ID, ID: w.ID, Schedule: w.Schedule, Timeout: config.Duration{Duration: w.Timeout.Duration}}
	if w.ID == "" || len(w.ID) > MaxID {
		return nil, fmt.Errorf("a check's id must be 1 to %d bytes", MaxID)
	}
	set := 0
	for _, p := range []bool{w.HTTP != nil, w.TCP != nil, w.DNS != nil, w.TLS != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return nil, fmt.Errorf("check %s: needs exactly one probe, has %d", w.ID, set)
	}
	switch {
	case w.Kind == "http" && w.HTTP != nil:
		h := w.HTTP
		if u, err := url.Parse(h.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("check %s: http.url must be an absolute http or https URL", w.ID)
		}
		c.HTTP = &config.HTTPCheck{URL: h.URL, Method: h.Method, Headers: h.Headers, Body: h.Body, Status: h.Status,
			Contains: h.Contains, NotContains: h.NotContains, MaxLatency: config.Duration{Duration: h.MaxLatency.Duration},
			MaxRedirects: h.MaxRedirects, SkipTLSVerify: h.SkipTLSVerify, FreshConnection: h.FreshConnection}
	case w.Kind == "tcp" && w.TCP != nil:
		if _, _, err := net.SplitHostPort(w.TCP.Address); err != nil {
			return nil, fmt.Errorf("check %s: tcp.address: %w", w.ID, err)
		}
		c.TCP = &config.TCPCheck{Address: w.TCP.Address}
	case w.Kind == "dns" && w.DNS != nil:
		c.DNS = &config.DNSCheck{Name: w.DNS.Name, Type: w.DNS.Type, Server: w.DNS.Server, Expect: w.DNS.Expect}
	case w.Kind == "tls" && w.TLS != nil:
		if _, _, err := net.SplitHostPort(w.TLS.Address); err != nil {
			return nil, fmt.Errorf("check %s: tls.address: %w", w.ID, err)
		}
		c.TLS = &config.TLSCheck{Address: w.TLS.Address, ServerName: w.TLS.ServerName, MinDaysLeft: w.TLS.MinDaysLeft}
	default:
		return nil, fmt.Errorf("check %s: no probe of kind %q here", w.ID, clip(w.Kind, 20))
	}
	if w.Timeout.Duration <= 0 {
		return nil, fmt.Errorf("check %s: timeout must be positive", w.ID)
	}
	s, err := config.CronParser.Parse(w.Schedule)
	if err != nil {
		return nil, fmt.Errorf("check %s: schedule %q: %w", w.ID, clip(w.Schedule, 80), err)
	}
	switch s := s.(type) {
	case *cron.SpecSchedule:
		if w.Timezone != "" && !hasTZ(w.Schedule) {
			loc, err := time.LoadLocation(w.Timezone)
			if err != nil {
				return nil, fmt.Errorf("check %s: timezone: %w", w.ID, err)
			}
			s.Location = loc
		}
	case cron.ConstantDelaySchedule:
		// As the configuration's validation: the parser would make
		// "@every 500ms" every second without a word.
		every, _ := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(w.Schedule, "@every")))
		if every < time.Second || every%time.Second != 0 {
			return nil, fmt.Errorf("check %s: @every needs a whole number of seconds, at least 1s", w.ID)
		}
	}
	if s.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("check %s: schedule %q never fires", w.ID, clip(w.Schedule, 80))
	}
	c.Cron = s
	return c, nil
}

// Batch is the body of POST /agent/v1/results: what the agent probed, in
// the order it probed it, and how many results it dropped since its last
// accepted batch because its buffer was full. A batch whose answer was
// lost is sent again, so a result may come twice: its check and Start
// identify it.
type Batch struct {
	Dropped int64    `json:"dropped"`
	Results []Result `json:"results"`
}

// Result is one probe's checks.Result, with the check and when the probe
// started.
type Result struct {
	Check    string    `json:"check"`
	Start    time.Time `json:"start"`
	OK       bool      `json:"ok"`
	Latency  Duration  `json:"latency"`
	Kind     string    `json:"kind,omitempty"`
	Error    string    `json:"error,omitempty"`
	Evidence string    `json:"evidence,omitempty"`
	Expires  time.Time `json:"expires,omitzero"`
}

// The bounds of a batch: a server refuses what is beyond them, and an
// agent cuts what it sends to fit.
const (
	MaxBody     = 4 << 20
	MaxResults  = 1000
	MaxID       = 512
	MaxError    = 1024
	MaxEvidence = 2048
	// MaxLatency is the longest latency taken: a probe has a timeout.
	MaxLatency = 24 * time.Hour
	// MaxAge is how old a result may be: a week and more of a buffer
	// full of an outage's results.
	MaxAge = 30 * 24 * time.Hour
	// MaxSkew is how far ahead of the server's clock a probe may start.
	MaxSkew = 5 * time.Minute
)

// failureKinds are the classes of checks.Result.Kind.
var failureKinds = []string{"timeout", "refused", "reset", "dns", "tls", "certificate", "status", "content", "latency", "error"}

// NewResult is r of check, probed at start, cut to the bounds of a batch.
func NewResult(check string, start time.Time, r checks.Result) Result {
	switch {
	case r.OK:
		r.Kind, r.Error = "", ""
	case !slices.Contains(failureKinds, r.Kind):
		r.Kind = "error" // a kind newer than the protocol
	}
	return Result{Check: check, Start: start.UTC().Round(0), OK: r.OK, Latency: Duration{min(max(r.Latency, 0), MaxLatency)},
		Kind: r.Kind, Error: text(r.Error, MaxError), Evidence: text(r.Evidence, MaxEvidence), Expires: r.Expires.UTC()}
}

// text is s as valid UTF-8 cut to n bytes: a server's bytes as a probe saw
// them would grow on the wire, each bad byte written as U+FFFD.
func text(s string, n int) string {
	return clip(strings.ToValidUTF8(s, "\uFFFD"), n)
}

// Checks is r as the checks package gives it.
func (r Result) Checks() checks.Result {
	return checks.Result{OK: r.OK, Latency: r.Latency.Duration, Kind: r.Kind, Error: r.Error, Evidence: r.Evidence, Expires: r.Expires}
}

// ErrTooLarge is the error of a body over MaxBody.
var ErrTooLarge = fmt.Errorf("the body is over %d bytes", MaxBody)

// ParseResults reads a batch an agent sent, refusing anything it does not
// know or that is out of bounds: times are checked against now. The times
// it gives are in UTC.
func ParseResults(body []byte, now time.Time) (Batch, error) {
	if len(body) > MaxBody {
		return Batch{}, ErrTooLarge
	}
	// Read into strings first, so that a bad time or duration is told
	// with where it stands.
	var raw struct {
		Dropped int64 `json:"dropped"`
		Results []struct {
			Check    string `json:"check"`
			Start    string `json:"start"`
			OK       bool   `json:"ok"`
			Latency  string `json:"latency"`
			Kind     string `json:"kind"`
			Error    string `json:"error"`
			Evidence string `json:"evidence"`
			Expires  string `json:"expires"`
		} `json:"results"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Batch{}, fmt.Errorf("not a batch of results: %s", clip(err.Error(), 200))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Batch{}, errors.New("not a batch of results: more after the batch")
	}
	if raw.Dropped < 0 {
		return Batch{}, errors.New("dropped: must not be negative")
	}
	if len(raw.Results) > MaxResults {
		return Batch{}, fmt.Errorf("results: %d, over %d in one batch", len(raw.Results), MaxResults)
	}
	b := Batch{Dropped: raw.Dropped, Results: make([]Result, len(raw.Results))}
	for i, w := range raw.Results {
		r := Result{Check: w.Check, OK: w.OK, Kind: w.Kind, Error: w.Error, Evidence: w.Evidence}
		err := r.Start.UnmarshalText([]byte(w.Start))
		if w.Start == "" {
			err = errors.New("is missing")
		}
		if err != nil {
			return Batch{}, fmt.Errorf("results[%d]: start: %s", i, timeError(err))
		}
		if w.Expires != "" {
			if err := r.Expires.UnmarshalText([]byte(w.Expires)); err != nil {
				return Batch{}, fmt.Errorf("results[%d]: expires: %s", i, timeError(err))
			}
		}
		if r.Latency.Duration, err = time.ParseDuration(w.Latency); err != nil {
			return Batch{}, fmt.Errorf("results[%d]: latency: must be a duration such as 10s or 1.5ms, not %q", i, clip(w.Latency, 40))
		}
		if err := r.valid(now); err != nil {
			return Batch{}, fmt.Errorf("results[%d]: %w", i, err)
		}
		r.Start = r.Start.UTC()
		if !r.Expires.IsZero() {
			r.Expires = r.Expires.UTC()
		}
		b.Results[i] = r
	}
	return b, nil
}

// timeError is what is wrong with a time, without repeating all of it.
func timeError(err error) string {
	if _, ok := err.(*time.ParseError); ok {
		return "must be an RFC 3339 time such as 2026-12-03T12:00:00.5Z"
	}
	return clip(err.Error(), 100)
}

// valid checks one result against the bounds.
func (r *Result) valid(now time.Time) error {
	switch {
	case r.Check == "":
		return errors.New("check: is empty")
	case len(r.Check) > MaxID:
		return fmt.Errorf("check: over %d bytes", MaxID)
	case !printable(r.Check):
		return errors.New("check: not printable UTF-8")
	case r.Start.Before(now.Add(-MaxAge)):
		return fmt.Errorf("start: %s is more than %s ago", r.Start.Format(time.RFC3339), MaxAge)
	case r.Start.After(now.Add(MaxSkew)):
		return fmt.Errorf("start: %s is ahead of the server's clock by more than %s", r.Start.Format(time.RFC3339), MaxSkew)
	case r.Latency.Duration < 0 || r.Latency.Duration > MaxLatency:
		return fmt.Errorf("latency: must be from 0 to %s", MaxLatency)
	case r.OK && (r.Kind != "" || r.Error != ""):
		return errors.New("a result that is ok has no kind or error")
	case !r.OK && !slices.Contains(failureKinds, r.Kind):
		return fmt.Errorf("kind: must be one of %s", strings.Join(failureKinds, ", "))
	case len(r.Error) > MaxError || !utf8.ValidString(r.Error):
		return fmt.Errorf("error: must be UTF-8 of at most %d bytes", MaxError)
	case len(r.Evidence) > MaxEvidence || !utf8.ValidString(r.Evidence):
		return fmt.Errorf("evidence: must be UTF-8 of at most %d bytes", MaxEvidence)
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// clip cuts s to at most n bytes, on a UTF-8 boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
