package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/notifier/webhook"
	"github.com/hostwatch/hostwatch/notifier/webhook/webhooktest"
)

var start = time.Date(2026, 11, 25, 14, 2, 10, 0, time.UTC)

func TestBodyAndSignature(t *testing.T) {
	srv := webhooktest.New("s3cret")
	defer srv.Close()
	wh := webhook.New([]config.Contact{
		{Name: "pager", Webhook: srv.URL + "/hook", WebhookSecret: "s3cret"},
		{Name: "forged", Webhook: srv.URL + "/hook", WebhookSecret: "wrong"},
	}, notifier.PlainRenderer(time.UTC), "hostwatch/test")
	ctx := context.Background()
	m := notifier.Message{Kind: notifier.Resolved, ID: 42, Incident: 12, Merchant: "kim-shop", Check: "kim-shop/web",
		Start: start, End: start.Add(3*time.Hour + 12*time.Minute + 30*time.Second)}
	receipt, err := wh.Send(ctx, "pager", m)
	if err != nil || receipt != "42" {
		t.Fatalf("send: %q, %v", receipt, err)
	}
	got := srv.Deliveries()
	if len(got) != 1 {
		t.Fatalf("deliveries = %+v", got)
	}
	b := got[0].Body
	if b.Event != "incident.resolved" || b.Incident != 12 || b.Check != "kim-shop/web" || *b.DowntimeSeconds != 11550 ||
		!b.Start.Equal(start) || b.Text != "UP kim-shop/web is back: Incident #12 resolved: 14:02–17:14, down 3h12m" || b.Language != "en" {
		t.Errorf("body = %+v", b)
	}
	// A wrong secret is refused by the receiver, for good.
	_, err = wh.Send(ctx, "forged", m)
	if !notifier.IsPermanent(err) || !strings.Contains(err.Error(), "401") {
		t.Errorf("forged: %v", err)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	srv := webhooktest.New("")
	defer srv.Close()
	const token = "T0KEN-in-the-path"
	wh := webhook.New([]config.Contact{{Name: "ops", Webhook: srv.URL + "/" + token}}, notifier.PlainRenderer(time.UTC), "hostwatch/test")
	m := notifier.Message{Kind: notifier.Down, ID: 1, Incident: 1, Check: "a/b", Start: start}
	tests := []struct {
		name       string
		status     int
		retryAfter string
		permanent  bool
		wait       time.Duration
	}{
		{"server error", http.StatusInternalServerError, "", false, 0},
		{"bad gateway", http.StatusBadGateway, "", false, 0},
		{"rate limited, seconds", http.StatusTooManyRequests, "2", false, 2 * time.Second},
		{"rate limited, date", http.StatusTooManyRequests, time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat), false, 90 * time.Second},
		{"rate limited, no wait given", http.StatusTooManyRequests, "", false, 0},
		{"gone", http.StatusNotFound, "", true, 0},
		{"forbidden", http.StatusForbidden, "", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Fail(tt.status, tt.retryAfter)
			_, err := wh.Send(context.Background(), "ops", m)
			if err == nil {
				t.Fatal("no error")
			}
			if notifier.IsPermanent(err) != tt.permanent {
				t.Errorf("permanent = %v: %v", notifier.IsPermanent(err), err)
			}
			var ra *notifier.RetryAfterError
			if isRA := errors.As(err, &ra); isRA != (tt.wait > 0) || (isRA && (ra.After > tt.wait || ra.After < tt.wait-2*time.Second)) {
				t.Errorf("retry after: %v (want %v)", err, tt.wait)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("the URL leaked into the error: %v", err)
			}
		})
	}
	srv.Fail(0, "")
	if _, err := wh.Send(context.Background(), "nobody", m); !notifier.IsPermanent(err) {
		t.Errorf("unknown contact: %v", err)
	}
	srv.Close()
	_, err := wh.Send(context.Background(), "ops", m)
	if err == nil || notifier.IsPermanent(err) || strings.Contains(err.Error(), token) {
		t.Errorf("unreachable: %v", err)
	}
}

// TestErrorPageEchoingTheURL: a receiver whose error page echoes the URL
// it was asked, secret path and query included: the error says what the
// page said, without the secret.
func TestErrorPageEchoingTheURL(t *testing.T) {
	srv := webhooktest.New("")
	defer srv.Close()
	srv.EchoURL()
	const pathSecret, querySecret = "PATH-s3cret-0123456789", "QUERY-s3cret-9876543210"
	hook := srv.URL + "/hooks/" + pathSecret + "?token=" + querySecret + "&v=1"
	wh := webhook.New([]config.Contact{{Name: "ops", Webhook: hook}}, notifier.PlainRenderer(time.UTC), "hostwatch/test")
	m := notifier.Message{Kind: notifier.Down, ID: 1, Incident: 1, Check: "a/b", Start: start}
	for _, status := range []int{http.StatusInternalServerError, http.StatusNotFound} {
		srv.Fail(status, "")
		_, err := wh.Send(context.Background(), "ops", m)
		if err == nil {
			t.Fatalf("HTTP %d: no error", status)
		}
		text := err.Error()
		for _, secret := range []string{pathSecret, querySecret} {
			if strings.Contains(text, secret) {
				t.Errorf("HTTP %d: the secret %q is in the error: %s", status, secret, text)
			}
		}
		// The page was echoed, and what it said beside the URL is kept.
		if !strings.Contains(text, "[redacted]") || !strings.Contains(text, "failed") || !strings.Contains(text, fmt.Sprintf("HTTP %d", status)) {
			t.Errorf("HTTP %d: error %q", status, text)
		}
	}
}
