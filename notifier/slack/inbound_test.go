package slack_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/bot"
	"github.com/hostwatch/hostwatch/notifier/slack"
	"github.com/hostwatch/hostwatch/notifier/slack/slacktest"
)

// nobody answers nothing, so the fuzzer sends nothing anywhere.
type nobody struct{}

func (nobody) Command(context.Context, bot.Request) []bot.Reply  { return nil }
func (nobody) Press(context.Context, bot.Request, string) string { return "" }
func (nobody) Knows(string) bool                                 { return false }

// FuzzInbound feeds signed bodies of any shape to both endpoints: each is
// answered 200, 400 or 413, never a panic. Each input is a request of its
// own to a server of its own: the fuzzer repeats inputs, and a repeat is a
// replay, refused by design (TestReplaysAreRefused).
func FuzzInbound(f *testing.F) {
	f.Add([]byte(url.Values{"payload": {`{"type":"block_actions","user":{"id":"U1"},"actions":[{"value":"ack:1"}]}`}}.Encode()), true)
	f.Add([]byte(url.Values{"payload": {`{"type":"block_actions","actions":[null]}`}}.Encode()), true)
	f.Add([]byte("text=status&user_id=U1&channel_id=C1&response_url=http%3A%2F%2F127.0.0.1%3A1%2Fx"), false)
	f.Add([]byte("%zz"), false)
	f.Add([]byte("payload=%7B%7D"), true)
	f.Fuzz(func(t *testing.T, body []byte, interaction bool) {
		in := slack.NewInbound(context.Background(), "secret", "http://127.0.0.1:1/api/", nobody{}, slog.New(slog.DiscardHandler))
		h := in.Commands()
		if interaction {
			h = in.Interactions()
		}
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		slacktest.Sign(req, "secret", body, time.Now())
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}

// TestReplaysAreRefused: a signed request is taken once, by whichever of
// two instances sharing one guard gets it first, however its signature's
// hex is spelled; the same text signed anew is a new request.
func TestReplaysAreRefused(t *testing.T) {
	body := []byte("text=status&user_id=U1&channel_id=C1")
	at := time.Now()
	signed := func(at time.Time) http.Header {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		slacktest.Sign(req, "secret", body, at)
		return req.Header
	}
	first := signed(at)
	tests := []struct {
		name     string
		instance int
		header   http.Header
		want     int
	}{
		{"first", 0, first, http.StatusOK},
		{"the same again", 0, first, http.StatusUnauthorized},
		{"the same to another instance", 1, first, http.StatusUnauthorized},
		{"one hex letter upper-cased", 0, slacktest.UpperHex(first), http.StatusUnauthorized},
		{"upper-cased, to another instance", 1, slacktest.UpperHex(first), http.StatusUnauthorized},
		{"the same text signed a second later", 1, signed(at.Add(time.Second)), http.StatusOK},
	}
	guard := &countingGuard{seen: map[string]bool{}}
	var instances []*slack.Inbound
	for range 2 {
		in := slack.NewInbound(context.Background(), "secret", "http://127.0.0.1:1/api/", nobody{}, slog.New(slog.DiscardHandler))
		in.Replays = guard
		instances = append(instances, in)
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header = tt.header
		rec := httptest.NewRecorder()
		instances[tt.instance].Commands().ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, rec.Code, tt.want)
		}
	}
	if guard.taken != 2 {
		t.Errorf("%d requests taken, want 2", guard.taken)
	}
}

// TestReplayGuardFailing: when the guard cannot say whether a request was
// taken, the request is refused with 503, for Slack to tell the user to
// try again, and nothing is done.
func TestReplayGuardFailing(t *testing.T) {
	in := slack.NewInbound(context.Background(), "secret", "http://127.0.0.1:1/api/", nobody{}, slog.New(slog.DiscardHandler))
	in.Replays = failingGuard{}
	body := []byte("text=status&user_id=U1&channel_id=C1")
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	slacktest.Sign(req, "secret", body, time.Now())
	rec := httptest.NewRecorder()
	in.Commands().ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("%d, want 503", rec.Code)
	}
}

// countingGuard is a guard shared by two instances, as the store is.
type countingGuard struct {
	mu    sync.Mutex
	seen  map[string]bool
	taken int
}

func (g *countingGuard) TakeOnce(_ context.Context, key string, _, _ time.Time) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen[key] {
		return false, nil
	}
	g.seen[key] = true
	g.taken++
	return true, nil
}

type failingGuard struct{}

func (failingGuard) TakeOnce(context.Context, string, time.Time, time.Time) (bool, error) {
	return false, errors.New("database is locked")
}
