package ping

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/source"
)

// Store keeps the tokens made here.
type Store interface {
	// PingToken returns check's stored token, storing made when it has
	// none.
	PingToken(ctx context.Context, check, made string) (string, error)
}

// Tokens are the heartbeat checks' tokens, by check.
type Tokens map[string]string

// Load gives each heartbeat check of cs its token: heartbeat.token when
// set, else the stored one, made now when there is none.
func Load(ctx context.Context, st Store, cs []*config.Check) (Tokens, error) {
	t := Tokens{}
	for _, c := range cs {
		if c.Heartbeat == nil {
			continue
		}
		token := c.Heartbeat.Token.Value()
		if token == "" {
			var err error
			if token, err = st.PingToken(ctx, c.ID, NewToken()); err != nil {
				return nil, err
			}
		}
		t[c.ID] = token
	}
	return t, nil
}

// NewToken makes a token: 24 URL-safe characters, 144 random bits.
func NewToken() string {
	b := make([]byte, 18)
	rand.Read(b) // never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// Base is where jobs reach this daemon: http.public_url, else
// http://LISTEN.
func Base(publicURL, listen string) string {
	if publicURL != "" {
		return strings.TrimSuffix(publicURL, "/")
	}
	return "http://" + listen
}

// URL is check's ping URL under base; "" for a check with no token.
func (t Tokens) URL(base, check string) string {
	token, ok := t[check]
	if !ok {
		return ""
	}
	return base + "/ping/" + token
}

// URLs are the ping URLs of every check with a token, under base.
func (t Tokens) URLs(base string) map[string]string {
	out := make(map[string]string, len(t))
	for check := range t {
		out[check] = t.URL(base, check)
	}
	return out
}

// Receiver takes the pings: the monitor.
type Receiver interface {
	Ping(ctx context.Context, check string, kind monitor.PingKind, at time.Time, body []byte) error
}

// handler serves the pings of one set of tokens.
type handler struct {
	checks map[string]string // by token
	to     Receiver
	now    func() time.Time
	log    *slog.Logger
}

// Handler serves GET and POST /ping/TOKEN, /ping/TOKEN/start and
// /ping/TOKEN/fail for the checks of t, handing each ping to r at now().
// The answer is "OK", or "not found" for any token not known: it names no
// check, and an unknown token changes nothing. What a POST carries is
// read to its first 10 KiB, never refused for its size.
func Handler(t Tokens, r Receiver, now func() time.Time, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{checks: make(map[string]string, len(t)), to: r, now: now, log: log}
	for check, token := range t {
		h.checks[token] = check
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
		return
	}
	token, what, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/ping/"), "/")
	kind := map[string]monitor.PingKind{"": monitor.PingSuccess, "start": monitor.PingStart, "fail": monitor.PingFail}[what]
	check, ok := h.checks[token]
	if !ok || kind == "" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	at := h.now()
	body, err := io.ReadAll(io.LimitReader(r.Body, source.MaxEvidence+1))
	if err != nil {
		http.Error(w, "the body could not be read", http.StatusBadRequest)
		return
	}
	if err := h.to.Ping(r.Context(), check, kind, at, body); err != nil {
		h.log.Warn("ping not taken", "check", check, "kind", kind, "err", err)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "not taken; ping again shortly", http.StatusServiceUnavailable)
		return
	}
	h.log.Debug("ping", "check", check, "kind", kind)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "OK")
}
