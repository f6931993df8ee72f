package telegram_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/bot"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/notifier/telegram"
	"github.com/hostwatch/hostwatch/notifier/telegram/telegramtest"
)

type handler struct {
	mu       sync.Mutex
	commands []string
	presses  []string
}

func (h *handler) Command(_ context.Context, r bot.Request) []bot.Reply {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.commands = append(h.commands, r.Caller+" "+r.Text)
	return []bot.Reply{{Text: strings.Repeat("x", 5000)}} // over one message: split
}

func (h *handler) Press(_ context.Context, r bot.Request, data string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.presses = append(h.presses, r.Caller+" "+r.User+" "+data)
	return "ok"
}

func (h *handler) seen() (int, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.commands), len(h.presses)
}

// syncBuffer is a log sink safe for the poller's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPollingSurvivesAnOutage: the Bot API answers 502 for a while; polling
// backs off (visibly in the log), does not crash, and loses no update.
func TestPollingSurvivesAnOutage(t *testing.T) {
	api := telegramtest.New(token)
	defer api.Close()
	tg := telegram.New(token, api.Endpoint(), notifier.PlainRenderer(time.UTC))
	tg.RetryWait = 100 * time.Millisecond
	h := &handler{}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tg.Poll(ctx, h, slog.New(slog.NewTextHandler(&logs, nil))) }()

	api.Inject(telegramtest.Command(111, 7, "/status"))
	api.FailNext(4, 502, 0) // 100+200+400+800 ms of outage
	api.Inject(telegramtest.Press(111, 7, 1, "ack:1"))
	api.Inject(telegramtest.Command(111, 7, "/incidents"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, p := h.seen(); c == 2 && p == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("handled %v / %v", h.commands, h.presses)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The replies go out after the updates are handled: waited for, on a
	// busy machine, before polling stops.
	for deadline := time.Now().Add(5 * time.Second); len(api.Messages(111)) < 4 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-done
	if c, p := h.seen(); c != 2 || p != 1 {
		t.Errorf("updates handled more than once: %v %v", h.commands, h.presses)
	}
	if n := len(api.Calls("getUpdates")); n > 12 {
		t.Errorf("%d getUpdates calls: a busy loop", n)
	}
	if !strings.Contains(logs.String(), "retrying") || !strings.Contains(logs.String(), "in=200ms") {
		t.Errorf("no backoff in the log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), token) {
		t.Error("the token reached the log")
	}
	// The 5,000-character answer went out as two messages.
	if n := len(api.Messages(111)); n != 4 {
		t.Errorf("%d replies, want 2 per command", n)
	}
	if n := len(api.Calls("answerCallbackQuery")); n != 1 {
		t.Errorf("%d callback answers", n)
	}
}

// TestPollingThroughTenSecondsOf502: the Bot API answers 502 for ten
// seconds; with the real backoff, polling neither crashes nor spins, and
// the update sent meanwhile is handled once it is back.
func TestPollingThroughTenSecondsOf502(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 15 s")
	}
	t.Parallel()
	api := telegramtest.New(token)
	defer api.Close()
	tg := telegram.New(token, api.Endpoint(), notifier.PlainRenderer(time.UTC))
	h := &handler{}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	api.FailFor(10 * time.Second)
	go func() { done <- tg.Poll(ctx, h, slog.New(slog.NewTextHandler(&logs, nil))) }()
	api.Inject(telegramtest.Command(111, 7, "/status"))
	deadline := time.Now().Add(30 * time.Second)
	for c, _ := h.seen(); c == 0; c, _ = h.seen() {
		if time.Now().After(deadline) {
			t.Fatalf("the update was never handled; log:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	// 1s, 2s, 4s, 8s: five tries cover ten seconds of 502s.
	if n := len(api.Calls("getUpdates")); n > 8 {
		t.Errorf("%d getUpdates calls in the outage: not backing off", n)
	}
	for _, want := range []string{"in=1s", "in=2s", "in=4s", "502"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
	if c, _ := h.seen(); c != 1 {
		t.Errorf("handled %d times", c)
	}
}

// TestPollingRemovesAnOldWebhook: a webhook left from an earlier setup
// makes getUpdates answer 409; polling removes it and goes on.
func TestPollingRemovesAnOldWebhook(t *testing.T) {
	api := telegramtest.New(token)
	defer api.Close()
	tg := telegram.New(token, api.Endpoint(), notifier.PlainRenderer(time.UTC))
	tg.RetryWait = 50 * time.Millisecond
	setHook := telegram.New(token, api.Endpoint(), notifier.PlainRenderer(time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	setHook.SetWebhook(ctx, "https://old.example/hook", "old", slog.New(slog.DiscardHandler))
	h := &handler{}
	done := make(chan error)
	go func() { done <- tg.Poll(ctx, h, slog.New(slog.DiscardHandler)) }()
	api.Inject(telegramtest.Command(111, 7, "/status"))
	deadline := time.Now().Add(5 * time.Second)
	for c, _ := h.seen(); c == 0; c, _ = h.seen() {
		if time.Now().After(deadline) {
			t.Fatal("polling never got past the old webhook")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if url, _ := api.Webhook(); url != "" {
		t.Errorf("webhook still set: %q", url)
	}
	cancel()
	<-done
}

// TestWebhookSurvivesAnUpdateWithoutChat: a body Telegram would never send,
// with the right secret, is ignored, not a crash.
func TestWebhookSurvivesAnUpdateWithoutChat(t *testing.T) {
	api := telegramtest.New(token)
	defer api.Close()
	tg := telegram.New(token, api.Endpoint(), notifier.PlainRenderer(time.UTC))
	h := &handler{}
	srv := httptest.NewServer(tg.WebhookHandler(context.Background(), "sec", h, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	for _, body := range []string{`{"update_id":1,"message":{"text":"/status"}}`, `{"update_id":2,"callback_query":{"id":"x","data":"ack:1"}}`, `not json`} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set(telegram.SecretHeader, "sec")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	time.Sleep(200 * time.Millisecond)
	if c, p := h.seen(); c != 0 || p != 1 {
		t.Errorf("handled %d commands, %d presses", c, p)
	}
}

// startPolling polls api with h until the test ends.
func startPolling(t *testing.T, api *telegramtest.Server, h telegram.Handler) {
	t.Helper()
	tg := telegram.New(token, api.Endpoint(), notifier.PlainRenderer(time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tg.Poll(ctx, h, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestPollingDoesNotSpinOnEmptyAnswers: a Bot API that answers getUpdates
// at once with nothing, whatever the timeout asked, is asked about once a
// second, each time with a long-poll timeout.
func TestPollingDoesNotSpinOnEmptyAnswers(t *testing.T) {
	api := telegramtest.New(token)
	t.Cleanup(api.Close)
	api.AnswerAtOnce()
	startPolling(t, api, &handler{})
	time.Sleep(3 * time.Second)
	calls := api.Calls("getUpdates")
	if n := len(calls); n < 2 || n > 5 {
		t.Errorf("%d getUpdates calls in 3 s of empty answers, want about one a second", n)
	}
	for _, c := range calls {
		if secs, err := strconv.Atoi(c.Params.Get("timeout")); err != nil || secs <= 0 || c.Status != http.StatusOK {
			t.Errorf("getUpdates with timeout %q answered %d; want a long poll", c.Params.Get("timeout"), c.Status)
		}
	}
}

// chain answers /one by injecting /two, and notes when each was handled.
type chain struct {
	api *telegramtest.Server
	mu  sync.Mutex
	at  map[string]time.Time
}

func (c *chain) Command(_ context.Context, r bot.Request) []bot.Reply {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at[r.Text] = time.Now()
	if r.Text == "/one" {
		c.api.Inject(telegramtest.Command(111, 7, "/two"))
	}
	return nil
}

func (c *chain) Press(context.Context, bot.Request, string) string { return "" }

func (c *chain) handled(text string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.at[text]
	return at, ok
}

// TestPollingHandlesUpdatesAtOnce: an update that arrives during a long poll
// is handled at once, and after an answer with updates the next getUpdates
// goes out at once too, even from a Bot API that answers at once: the pause
// after empty answers adds no delay to updates.
func TestPollingHandlesUpdatesAtOnce(t *testing.T) {
	const soon = 400 * time.Millisecond // well under the pause after an empty answer
	for _, atOnce := range []bool{false, true} {
		t.Run("answers at once: "+strconv.FormatBool(atOnce), func(t *testing.T) {
			api := telegramtest.New(token)
			t.Cleanup(api.Close) // after the polling stops
			if atOnce {
				api.AnswerAtOnce()
			}
			h := &chain{api: api, at: map[string]time.Time{}}
			startPolling(t, api, h)
			waitFor := func(text string) time.Time {
				t.Helper()
				deadline := time.Now().Add(5 * time.Second)
				for {
					if at, ok := h.handled(text); ok {
						return at
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s never handled", text)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			time.Sleep(1500 * time.Millisecond) // idle: a long poll under way, or empty answers
			api.Inject(telegramtest.Command(111, 7, "/one"))
			one := waitFor("/one")
			two := waitFor("/two")
			if d := two.Sub(one); d > soon {
				t.Errorf("/two handled %v after /one: the poller paused after an answer with updates", d)
			}
			if !atOnce {
				if n := len(api.Calls("getUpdates")); n > 4 {
					t.Errorf("%d getUpdates calls for two updates over a long poll", n)
				}
			}
		})
	}
}
