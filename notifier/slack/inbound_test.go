package slack_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
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
// answered 200, 400 or 413, never a panic.
func FuzzInbound(f *testing.F) {
	f.Add([]byte(url.Values{"payload": {`{"type":"block_actions","user":{"id":"U1"},"actions":[{"value":"ack:1"}]}`}}.Encode()), true)
	f.Add([]byte(url.Values{"payload": {`{"type":"block_actions","actions":[null]}`}}.Encode()), true)
	f.Add([]byte("text=status&user_id=U1&channel_id=C1&response_url=http%3A%2F%2F127.0.0.1%3A1%2Fx"), false)
	f.Add([]byte("%zz"), false)
	f.Add([]byte("payload=%7B%7D"), true)
	in := slack.NewInbound(context.Background(), "secret", "http://127.0.0.1:1/api/", nobody{}, slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, body []byte, interaction bool) {
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

func TestReplayedRequestIsRefused(t *testing.T) {
	in := slack.NewInbound(context.Background(), "secret", "http://127.0.0.1:1/api/", nobody{}, slog.New(slog.DiscardHandler))
	body := []byte("text=status&user_id=U1&channel_id=C1")
	first := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	slacktest.Sign(first, "secret", body, time.Now())
	again := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	again.Header = first.Header.Clone()
	for i, req := range []*http.Request{first, again} {
		rec := httptest.NewRecorder()
		in.Commands().ServeHTTP(rec, req)
		if want := []int{http.StatusOK, http.StatusUnauthorized}[i]; rec.Code != want {
			t.Errorf("request %d: %d, want %d", i+1, rec.Code, want)
		}
	}
}
