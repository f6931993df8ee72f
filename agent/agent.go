package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
)

// The agent's defaults.
const (
	DefaultBuffer       = 100_000
	DefaultPoll         = 30 * time.Second
	DefaultFlush        = time.Second
	DefaultStopFlush    = 5 * time.Second
	DefaultRefusedRetry = time.Minute
	DefaultMaxBackoff   = 30 * time.Second
	DefaultParallel     = 256
)

// maxAssignment bounds the checks a server may send: some 300 bytes a
// check, a location of 100,000 checks is a tenth of it.
const maxAssignment = 256 << 20

// Options configures a Runner; Server, Location, Token and Env are
// required.
type Options struct {
	// Server is the base URL of the hostwatch server:
	// https://hostwatch.example.com, or under a proxy's prefix.
	Server   string
	Location string
	Token    config.Secret
	// Env is what the probes share.
	Env *checks.Env
	// Buffer is how many results are kept while the server cannot be
	// reached; past it the oldest are dropped and counted.
	Buffer int
	// Poll is how often the checks are asked for again.
	Poll time.Duration
	// Flush is the longest a result waits to be sent with others.
	Flush time.Duration
	// StopFlush is how long the results held are still sent at a stop.
	StopFlush time.Duration
	// RefusedRetry is how soon a request the server refused as not
	// signed by an agent it knows (401, 403) is tried again.
	RefusedRetry time.Duration
	// MaxBackoff bounds the wait between two tries of a batch.
	MaxBackoff time.Duration
	// Parallel is how many probes run at once.
	Parallel int
	// Client makes the requests to the server; its own, by default.
	Client    *http.Client
	UserAgent string
	Clock     clockwork.Clock
	Logger    *slog.Logger
}

// Runner is a probe agent: it pulls the checks of its location from the
// server, probes them on their schedules and pushes the results. It needs
// no inbound port.
type Runner struct {
	o     Options
	base  string
	buf   *buffer
	sched *scheduler
	log   *slog.Logger
}

// New checks o and builds the agent.
func New(o Options) (*Runner, error) {
	u, err := url.Parse(o.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("the server must be an absolute http or https URL")
	}
	if !locationPattern.MatchString(o.Location) {
		return nil, fmt.Errorf("the location %q must be a name of letters, digits, '.', '_' and '-'", o.Location)
	}
	if o.Token == "" {
		return nil, errors.New("the agent needs its token")
	}
	if o.Env == nil {
		return nil, errors.New("the agent needs a checks.Env")
	}
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&o.Poll, DefaultPoll)
	set(&o.Flush, DefaultFlush)
	set(&o.StopFlush, DefaultStopFlush)
	set(&o.RefusedRetry, DefaultRefusedRetry)
	set(&o.MaxBackoff, DefaultMaxBackoff)
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if o.UserAgent == "" {
		o.UserAgent = "hostwatch-agent"
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Runner{o: o, base: strings.TrimSuffix(o.Server, "/"), buf: newBuffer(o.Buffer),
		log: o.Logger.With("location", o.Location)}
	r.sched = newScheduler(o.Clock, o.Parallel, r.keep)
	return r, nil
}

// keep buffers a result.
func (r *Runner) keep(res Result) {
	if r.buf.add(res) {
		r.log.Warn("agent: buffer full: dropping the oldest results until the server takes them again",
			"buffer", r.o.Buffer)
	}
}

// Run probes and sends until ctx is done, then goes on sending what it
// holds for StopFlush. It returns nil at a stop; results it could not send
// by then are lost, and said so. A Runner runs once.
func (r *Runner) Run(ctx context.Context) error {
	probing, pulling := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(probing)
		r.sched.run(ctx)
	}()
	go func() {
		defer close(pulling)
		r.pull(ctx)
	}()
	r.send(ctx, probing)
	<-pulling
	return nil
}

// pull asks for the checks at the start and every Poll, with the ETag of
// those it has, and hands a new set to the scheduler.
func (r *Runner) pull(ctx context.Context) {
	var etag string
	failures := 0
	for {
		next := r.o.Poll
		tag, err := r.fetch(ctx, etag)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			if failures == 1 {
				r.log.Error("agent: could not get the checks", "err", err)
			}
			if etag == "" {
				// Nothing to probe yet: ask again soon.
				next = min(backoff(failures, time.Second, r.o.Poll), r.o.Poll)
			}
			if isRefused(err) {
				next = max(next, r.o.RefusedRetry)
			}
		default:
			if failures > 0 {
				r.log.Info("agent: got the checks again", "failures", failures)
			}
			failures, etag = 0, tag
		}
		select {
		case <-ctx.Done():
			return
		case <-r.o.Clock.After(next):
		}
	}
}

// fetch gets the checks unless the server says those of etag are current,
// and gives the new ETag.
func (r *Runner) fetch(ctx context.Context, etag string) (string, error) {
	req, err := r.request(ctx, http.MethodGet, ChecksPath, nil)
	if err != nil {
		return "", err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := r.o.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("get the checks: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return etag, nil
	case resp.StatusCode != http.StatusOK:
		return "", statusError(resp)
	}
	var a Assignment
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAssignment)).Decode(&a); err != nil {
		return "", fmt.Errorf("read the checks: %w", err)
	}
	set := make([]*probe, 0, len(a.Checks))
	seen := map[string]bool{}
	for _, w := range a.Checks {
		c, err := w.Config()
		if err == nil && seen[c.ID] {
			err = fmt.Errorf("check %s: sent twice", c.ID)
		}
		var checker checks.Checker
		if err == nil {
			checker, err = r.o.Env.New(c)
		}
		if err != nil {
			// One check this agent cannot run leaves the others running.
			r.log.Warn("agent: a check not probed", "err", err)
			continue
		}
		seen[c.ID] = true
		set = append(set, &probe{check: c, checker: checker})
	}
	r.sched.assign(set)
	r.log.Info("agent: checks assigned", "checks", len(set))
	return resp.Header.Get("ETag"), nil
}

// request builds a signed request to the server.
func (r *Runner) request(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", r.o.UserAgent)
	Sign(req, path, body, r.o.Location, r.o.Token, r.o.Clock.Now())
	return req, nil
}

// send pushes the results in batches while ctx lasts, then, once the
// probes out have ended, for StopFlush more. A request under way at the
// stop is not cut short: its answer lost, the batch would be sent twice.
func (r *Runner) send(ctx context.Context, probing <-chan struct{}) {
	sending, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { r.o.Clock.AfterFunc(r.o.StopFlush, cancel) })
	defer stop()
	s := sender{Runner: r, size: MaxResults}
	s.loop(sending, ctx.Done())
	<-probing
	s.loop(sending, nil)
	held, dropped := r.buf.count()
	if held += len(s.pending); held > 0 || dropped > 0 {
		r.log.Warn("agent: stopped with results not sent", "results", held, "dropped", dropped+s.dropped)
	}
}

// sender is the state of the sending: the results taken from the buffer
// and not yet accepted, oldest first, and the batch of them being sent.
type sender struct {
	*Runner
	pending []Result
	dropped int64 // with the results pending
	size    int   // the most results in one batch: halved on 413
	batch   *Batch
	body    []byte
	// failures counts the tries of the batch that failed; refused is
	// set while the server refuses the agent.
	failures int
	refused  bool
}

// loop sends until ctx is done. With stop nil it sends only what is held
// and returns when nothing is left; otherwise it waits for more, and
// returns when stop closes.
func (s *sender) loop(ctx context.Context, stop <-chan struct{}) {
	last := s.o.Clock.Now()
	for ctx.Err() == nil {
		if s.batch == nil {
			if len(s.pending) == 0 {
				if stop != nil && !s.gather(last, stop) {
					return
				}
				rs, dropped := s.buf.take(MaxResults)
				s.pending, s.dropped = rs, s.dropped+dropped
				if len(s.pending) == 0 && s.dropped == 0 {
					if stop == nil {
						return
					}
					continue
				}
			}
			if err := s.form(); err != nil {
				s.log.Error("agent: results not sent", "err", err, "results", len(s.pending))
				s.buf.lose(len(s.pending))
				s.pending = nil
				continue
			}
		}
		last = s.o.Clock.Now()
		wait, ok := s.try(ctx)
		if ok {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-s.o.Clock.After(wait):
		}
	}
}

// gather waits until there is a batch's worth of results, or some and
// Flush has passed since the last send. It returns false when stop closes.
func (s *sender) gather(last time.Time, stop <-chan struct{}) bool {
	for {
		held, dropped := s.buf.count()
		if held >= MaxResults {
			return true
		}
		var tick <-chan time.Time
		if held > 0 || dropped > 0 {
			due := last.Add(s.o.Flush).Sub(s.o.Clock.Now())
			if due <= 0 {
				return true
			}
			tick = s.o.Clock.After(due)
		}
		select {
		case <-stop:
			return false
		case <-s.buf.ready:
		case <-tick:
			return true
		}
	}
}

// form makes the next batch of the pending results, as many as fit a
// body.
func (s *sender) form() error {
	n := min(len(s.pending), s.size)
	for {
		b := &Batch{Dropped: s.dropped, Results: s.pending[:n]}
		body, err := json.Marshal(b)
		if err != nil {
			return fmt.Errorf("write a batch: %w", err)
		}
		if len(body) <= MaxBody || n <= 1 {
			s.batch, s.body = b, body
			return nil
		}
		n /= 2
	}
}

// try sends the batch once. It reports true when the batch is done with,
// and otherwise how long to wait before the next try.
func (s *sender) try(ctx context.Context) (time.Duration, bool) {
	err := s.post(ctx)
	var status *httpStatusError
	errors.As(err, &status)
	switch {
	case err == nil:
		if s.failures > 0 || s.refused {
			s.log.Info("agent: the server takes the results again", "failures", s.failures)
		}
		if s.batch.Dropped > 0 {
			s.log.Warn("agent: the server was told of the results dropped", "dropped", s.batch.Dropped)
		}
		s.done()
		return 0, true
	case ctx.Err() != nil:
		return 0, false
	case status != nil && (status.code == http.StatusUnauthorized || status.code == http.StatusForbidden):
		if !s.refused {
			s.log.Error("agent: the server refused this agent: is the token configured on the server for this location?",
				"err", err)
		}
		s.refused = true
		return s.o.RefusedRetry, false
	case status != nil && status.code == http.StatusRequestEntityTooLarge && len(s.batch.Results) > 1:
		s.size = max(len(s.batch.Results)/2, 1)
		s.batch = nil
		return 0, true
	case status != nil && status.code >= 400 && status.code < 500 && status.code != http.StatusTooManyRequests &&
		status.code != http.StatusRequestTimeout:
		// Sending it again will not change the answer.
		s.log.Error("agent: the server refused a batch; its results are dropped", "results", len(s.batch.Results), "err", err)
		s.buf.lose(len(s.batch.Results))
		s.done()
		return 0, true
	}
	s.failures++
	if s.failures == 1 {
		s.log.Warn("agent: results not sent; keeping them and trying again", "err", err)
	} else {
		s.log.Debug("agent: results not sent", "failures", s.failures, "err", err)
	}
	wait := backoff(s.failures, 500*time.Millisecond, s.o.MaxBackoff)
	if status != nil && status.retryAfter > 0 {
		wait = max(wait, min(status.retryAfter, 5*time.Minute))
	}
	return wait, false
}

// done drops the batch sent from the pending results.
func (s *sender) done() {
	s.pending = s.pending[len(s.batch.Results):]
	if len(s.pending) == 0 {
		s.pending = nil
	}
	s.dropped = 0
	s.batch, s.body = nil, nil
	s.failures, s.refused = 0, false
}

// post sends the batch.
func (s *sender) post(ctx context.Context) error {
	req, err := s.request(ctx, http.MethodPost, ResultsPath, s.body)
	if err != nil {
		return err
	}
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return fmt.Errorf("send %d results: %w", len(s.batch.Results), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return statusError(resp)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	return nil
}

// httpStatusError is a server's answer other than success.
type httpStatusError struct {
	code       int
	message    string
	retryAfter time.Duration
}

func (e *httpStatusError) Error() string {
	if e.message == "" {
		return fmt.Sprintf("the server answered %d %s", e.code, http.StatusText(e.code))
	}
	return fmt.Sprintf("the server answered %d %s: %s", e.code, http.StatusText(e.code), e.message)
}

// statusError reads a server's refusal: its message, when it sent one of
// hostwatch's, and its Retry-After in seconds.
func statusError(resp *http.Response) error {
	e := &httpStatusError{code: resp.StatusCode}
	var m struct {
		Message string `json:"message"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&m) == nil {
		e.message = clip(strings.ToValidUTF8(m.Message, "?"), 200)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		e.retryAfter = time.Duration(secs) * time.Second
	}
	return e
}

// isRefused reports whether err is the server refusing the agent.
func isRefused(err error) bool {
	var status *httpStatusError
	return errors.As(err, &status) && (status.code == http.StatusUnauthorized || status.code == http.StatusForbidden)
}

// backoff is how long to wait after the nth failure in a row: doubling
// from base up to limit, each wait drawn from its upper half so that
// agents cut off together do not come back in step.
func backoff(n int, base, limit time.Duration) time.Duration {
	d := limit
	if n < 32 && base<<(n-1) < limit && base<<(n-1) > 0 {
		d = base << (n - 1)
	}
	return d/2 + rand.N(d/2+1)
}
