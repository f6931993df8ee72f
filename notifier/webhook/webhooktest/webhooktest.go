// Package webhooktest is a webhook receiver for tests: it checks what a real
// receiver would (method, content type, signature, the body's schema),
// records every delivery, and can be told to fail, to ask for a wait, to
// answer slowly (before or after taking a delivery), or to enforce rate
// limits.
package webhooktest

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hostwatch/hostwatch/notifier/webhook"
)

// Delivery is one accepted POST.
type Delivery struct {
	At   time.Time
	Path string // which receiver, when one server stands for many
	Body webhook.Body
	// Duplicate is set when the same delivery id was accepted before.
	Duplicate bool
}

// Server is a strict webhook receiver.
type Server struct {
	*httptest.Server
	secret []byte

	mu         sync.Mutex
	deliveries []Delivery
	seen       map[string]bool
	requests   int
	status     int           // answer this instead of 200 while set
	retryAfter string        // with status 429
	delay      time.Duration // before answering
	lag        time.Duration // after taking a delivery, before answering
	echo       bool          // failure pages name the URL asked for
	limits     []limit       // rate limits to enforce
	limited    int           // requests refused by the limits
	sent       map[string][]time.Time
	all        []time.Time
	inFlight   map[string]int // requests under way, by path
	overlaps   int            // requests that came while another to their path was under way
}

type limit struct {
	n      int
	per    time.Duration
	global bool
	match  func(path string) bool
}

// New starts a receiver; with a secret, unsigned or badly signed requests
// get 401.
func New(secret string) *Server {
	s := &Server{secret: []byte(secret), seen: map[string]bool{}, sent: map[string][]time.Time{}, inFlight: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// Fail makes the server answer status (0: accept again); for 429,
// retryAfter is the Retry-After header.
func (s *Server) Fail(status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.retryAfter = status, retryAfter
}

// Slow makes the server wait d before answering.
func (s *Server) Slow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// EchoURL makes the failures' pages name the URL asked for, whole and
// HTML-escaped, as some servers' error pages do.
func (s *Server) EchoURL() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.echo = true
}

// SlowAnswer makes the server take a delivery at once and answer d later,
// as a receiver does that acts on a message before it answers: a sender
// that stops waiting has delivered it all the same.
func (s *Server) SlowAnswer(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lag = d
}

// LimitEach refuses with 429 a request that would make more than n to one
// path within per; paths for which match is false are not limited.
func (s *Server) LimitEach(n int, per time.Duration, match func(path string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = append(s.limits, limit{n: n, per: per, match: match})
}

// LimitAll refuses with 429 a request that would make more than n in all
// within per.
func (s *Server) LimitAll(n int, per time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = append(s.limits, limit{n: n, per: per, global: true})
}

// Deliveries returns the accepted deliveries, in the order they arrived.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// Requests counts every request, accepted or not.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Limited counts the requests refused for breaking a rate limit.
func (s *Server) Limited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited
}

func within(ts []time.Time, now time.Time, per time.Duration) int {
	n := 0
	for i := len(ts) - 1; i >= 0 && now.Sub(ts[i]) < per; i-- {
		n++
	}
	return n
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.requests++
	if s.inFlight[r.URL.Path] > 0 {
		s.overlaps++
	}
	s.inFlight[r.URL.Path]++
	defer func() {
		s.mu.Lock()
		s.inFlight[r.URL.Path]--
		s.mu.Unlock()
	}()
	// The failure in force when the request arrived decides its answer:
	// a test that sees the request counted and then lifts the failure
	// must still see this one refused.
	delay, lag, status, retryAfter := s.delay, s.lag, s.status, s.retryAfter
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case r.Method != http.MethodPost:
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	case err != nil:
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	case r.Header.Get("Content-Type") != "application/json":
		http.Error(w, "JSON only", http.StatusUnsupportedMediaType)
		return
	case len(s.secret) > 0 && !hmac.Equal([]byte(r.Header.Get(webhook.HeaderSignature)), []byte(webhook.Sign(s.secret, body))):
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var b webhook.Body
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || b.Version != webhook.Version || b.Delivery == "" ||
		b.Delivery != r.Header.Get(webhook.HeaderDelivery) || b.Event != r.Header.Get(webhook.HeaderEvent) {
		http.Error(w, "body does not follow the schema", http.StatusBadRequest)
		return
	}

	s.mu.Lock()
	taken := s.take(w, r, b, status, retryAfter)
	s.mu.Unlock()
	if taken && lag > 0 {
		select {
		case <-time.After(lag):
		case <-r.Context().Done():
			return
		}
	}
	if taken {
		w.WriteHeader(http.StatusNoContent)
	}
}

// take records a delivery, or answers the failure or rate limit in force
// and reports false; s.mu is held.
func (s *Server) take(w http.ResponseWriter, r *http.Request, b webhook.Body, status int, retryAfter string) bool {
	if status != 0 {
		if status == http.StatusTooManyRequests && retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		page := http.StatusText(status)
		if s.echo {
			asked := "http://" + r.Host + r.URL.RequestURI()
			page = fmt.Sprintf("<h1>%s</h1>\n<p>POST %s failed. <a href=\"%s\">Try again</a></p>", page, asked, html.EscapeString(asked))
		}
		http.Error(w, page, status)
		return false
	}
	now := time.Now()
	for _, l := range s.limits {
		var n int
		switch {
		case l.global:
			n = within(s.all, now, l.per)
		case l.match == nil || l.match(r.URL.Path):
			n = within(s.sent[r.URL.Path], now, l.per)
		default:
			continue
		}
		if n >= l.n {
			s.limited++
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(l.per/time.Second))))
			http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
			return false
		}
	}
	s.all = append(s.all, now)
	s.sent[r.URL.Path] = append(s.sent[r.URL.Path], now)
	s.deliveries = append(s.deliveries, Delivery{At: now, Path: r.URL.Path, Body: b, Duplicate: s.seen[b.Delivery]})
	s.seen[b.Delivery] = true
	return true
}

// Overlaps counts the requests that arrived while another one to the same
// path was still being answered: a sender that keeps one message in flight
// per destination makes none.
func (s *Server) Overlaps() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.overlaps
}
