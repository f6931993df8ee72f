package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/bot"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/notifier/slack"
	"github.com/hostwatch/hostwatch/notifier/slack/slacktest"
)

const token = "xoxb-test-token"

var start = time.Date(2026, 11, 25, 14, 2, 10, 0, time.UTC)

type blockJSON struct {
	Type     string `json:"type"`
	Elements []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
		Text     struct {
			Text string `json:"text"`
		} `json:"text"`
	} `json:"elements"`
}

func buttons(t *testing.T, blocks string) map[string]string {
	t.Helper()
	var bs []blockJSON
	if err := json.Unmarshal([]byte(blocks), &bs); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, b := range bs {
		for _, e := range b.Elements {
			out[e.Text.Text] = e.Value
		}
	}
	return out
}

// TestAlertUpdateAndThread: a Block Kit alert with both buttons and a text
// fallback; an acknowledgement updates it in place without the Acknowledge
// button; the resolution goes in its thread.
func TestAlertUpdateAndThread(t *testing.T) {
	api := slacktest.New(token)
	defer api.Close()
	s := slack.New(token, api.APIURL(), notifier.PlainRenderer(time.UTC))
	ctx := context.Background()
	down := notifier.Message{Kind: notifier.Down, Incident: 12, Check: "kim-shop/a<b>&", Start: start, Error: "refused"}
	receipt, err := s.Send(ctx, "C0123", down)
	if err != nil {
		t.Fatal(err)
	}
	msgs := api.Messages("C0123")
	if len(msgs) != 1 || !strings.HasPrefix(receipt, "C0123/") {
		t.Fatalf("messages %+v, receipt %q", msgs, receipt)
	}
	if !strings.Contains(msgs[0].Text, "DOWN kim-shop/a&lt;b&gt;&amp;") {
		t.Errorf("fallback = %q", msgs[0].Text)
	}
	b := buttons(t, msgs[0].Blocks)
	if a, err := bot.DecodeAction(b["Acknowledge"]); err != nil || a != (bot.Action{Verb: "ack", Incident: 12}) {
		t.Errorf("Acknowledge carries %q", b["Acknowledge"])
	}
	if a, err := bot.DecodeAction(b["Silence 1h"]); err != nil || a.Verb != "silence" || a.For != time.Hour {
		t.Errorf("Silence carries %q", b["Silence 1h"])
	}

	acked := down
	acked.AckBy, acked.AckAt = "<@U777>", start.Add(3*time.Minute)
	if err := s.Edit(ctx, "C0123", receipt, acked); err != nil {
		t.Fatal(err)
	}
	msgs = api.Messages("C0123")
	if msgs[0].Updates != 1 || !strings.Contains(msgs[0].Blocks, "Acknowledged by") {
		t.Errorf("after ack: %+v", msgs[0])
	}
	if b := buttons(t, msgs[0].Blocks); b["Acknowledge"] != "" || b["Silence 1h"] == "" {
		t.Errorf("buttons after ack: %v", b)
	}

	up := down
	up.Kind, up.End, up.ReplyTo = notifier.Resolved, start.Add(192*time.Minute), receipt
	if _, err := s.Send(ctx, "C0123", up); err != nil {
		t.Fatal(err)
	}
	msgs = api.Messages("C0123")
	if len(msgs) != 2 || msgs[1].ThreadTS != msgs[0].TS || !strings.Contains(msgs[1].Text, "down 3h12m") {
		t.Errorf("resolution: %+v", msgs)
	}

	// The alert was deleted meanwhile: the resolution goes out on its own,
	// instead of blocking the channel on thread_not_found.
	up.ReplyTo = "C0123/1.999999"
	if _, err := s.Send(ctx, "C0123", up); err != nil {
		t.Fatalf("resolution of a deleted alert: %v", err)
	}
	if msgs = api.Messages("C0123"); len(msgs) != 3 || msgs[2].ThreadTS != "" {
		t.Errorf("after a deleted alert: %+v", msgs[2:])
	}
}

func TestErrorsAreClassified(t *testing.T) {
	api := slacktest.New(token)
	defer api.Close()
	api.Channels("C0123")
	s := slack.New(token, api.APIURL(), notifier.PlainRenderer(time.UTC))
	ctx := context.Background()
	m := notifier.Message{Kind: notifier.Down, Incident: 1, Check: "a/b", Start: start}

	api.FailNext(1, 429, "2")
	_, err := s.Send(ctx, "C0123", m)
	var ra *notifier.RetryAfterError
	if !errors.As(err, &ra) || ra.After != 2*time.Second {
		t.Errorf("429: %v", err)
	}
	api.FailNext(1, 503, "")
	if _, err := s.Send(ctx, "C0123", m); err == nil || notifier.IsPermanent(err) {
		t.Errorf("503: %v", err)
	}
	if _, err := s.Send(ctx, "C9999", m); !notifier.IsPermanent(err) || !strings.Contains(err.Error(), "channel_not_found") {
		t.Errorf("unknown channel: %v", err)
	}
	wrong := slack.New("xoxb-wrong", api.APIURL(), notifier.PlainRenderer(time.UTC))
	if _, err := wrong.Send(ctx, "C0123", m); err == nil || notifier.IsPermanent(err) || strings.Contains(err.Error(), "xoxb") {
		t.Errorf("wrong token: %v", err)
	}
	if err := s.Edit(ctx, "C0123", "C0123/1.000009", m); !notifier.IsPermanent(err) {
		t.Errorf("edit of a missing message: %v", err)
	}
}
