package telegram_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/bot"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/notifier/telegram"
	"github.com/hostwatch/hostwatch/notifier/telegram/telegramtest"
)

const token = "123456:TEST-token"

var start = time.Date(2026, 11, 25, 5, 2, 10, 0, time.UTC)

func seoul(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestAlertWithButtonsThenEdit: a down alert arrives with both buttons and
// a check name full of markup characters intact; the resolution edits it in
// place and drops the buttons.
func TestAlertWithButtonsThenEdit(t *testing.T) {
	api := telegramtest.New(token)
	defer api.Close()
	tg := telegram.New(token, api.Endpoint(), notifier.PlainRenderer(seoul(t)))
	ctx := context.Background()
	down := notifier.Message{Kind: notifier.Down, Incident: 12, Check: "kim-shop/a<b>&_*[x]", Start: start, Error: "refused"}
	receipt, err := tg.Send(ctx, "111", down)
	if err != nil {
		t.Fatal(err)
	}
	msgs := api.Messages(111)
	if len(msgs) != 1 || receipt != "1" {
		t.Fatalf("messages = %+v, receipt %q", msgs, receipt)
	}
	if !strings.Contains(msgs[0].Text, "kim-shop/a&lt;b&gt;&amp;_*[x]") || msgs[0].ParseMode != "HTML" {
		t.Errorf("text = %q (%s)", msgs[0].Text, msgs[0].ParseMode)
	}
	var markup struct {
		InlineKeyboard [][]struct {
			Text         string `json:"text"`
			CallbackData string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(msgs[0].Markup), &markup); err != nil {
		t.Fatal(err)
	}
	row := markup.InlineKeyboard[0]
	if len(row) != 2 || row[0].Text != "Acknowledge" || row[1].Text != "Silence 1h" {
		t.Fatalf("buttons = %+v", row)
	}
	for i, want := range []bot.Action{{Verb: "ack", Incident: 12}, {Verb: "silence", Incident: 12, For: time.Hour}} {
		if a, err := bot.DecodeAction(row[i].CallbackData); err != nil || a != want {
			t.Errorf("button %d carries %q: %+v, %v", i, row[i].CallbackData, a, err)
		}
	}

	resolved := down
	resolved.Kind, resolved.End = notifier.Resolved, start.Add(time.Hour)
	if err := tg.Edit(ctx, "111", receipt, resolved); err != nil {
		t.Fatal(err)
	}
	// The same edit again: Telegram says "not modified"; that is success.
	if err := tg.Edit(ctx, "111", receipt, resolved); err != nil {
		t.Errorf("identical edit: %v", err)
	}
	msgs = api.Messages(111)
	if msgs[0].Edits != 1 || msgs[0].Markup != "" || !strings.Contains(msgs[0].Text, "resolved") {
		t.Errorf("after edit: %+v", msgs[0])
	}
}

func TestErrorsAreClassified(t *testing.T) {
	api := telegramtest.New(token)
	defer api.Close()
	ctx := context.Background()
	m := notifier.Message{Kind: notifier.Down, Incident: 1, Check: "a/b", Start: start}
	tg := telegram.New(token, api.Endpoint(), notifier.PlainRenderer(time.UTC))

	api.FailNext(1, 429, 7)
	_, err := tg.Send(ctx, "111", m)
	var ra *notifier.RetryAfterError
	if !errors.As(err, &ra) || ra.After != 7*time.Second {
		t.Errorf("429: %v", err)
	}
	api.FailNext(1, 502, 0)
	if _, err := tg.Send(ctx, "111", m); err == nil || notifier.IsPermanent(err) || errors.As(err, &ra) {
		t.Errorf("502: %v", err)
	}
	api.Block(222)
	if _, err := tg.Send(ctx, "222", m); !notifier.IsPermanent(err) || !strings.Contains(err.Error(), "blocked") {
		t.Errorf("blocked: %v", err)
	}
	api.Chats(111)
	if _, err := tg.Send(ctx, "333", m); !notifier.IsPermanent(err) || !strings.Contains(err.Error(), "chat not found") {
		t.Errorf("unknown chat: %v", err)
	}
	wrong := telegram.New("999:wrong", api.Endpoint(), notifier.PlainRenderer(time.UTC))
	_, err = wrong.Send(ctx, "111", m)
	// A wrong token says nothing about the chat: retried, not dropped.
	if err == nil || notifier.IsPermanent(err) || strings.Contains(err.Error(), "999:wrong") {
		t.Errorf("wrong token: %v", err)
	}
	api.Close()
	if _, err := tg.Send(ctx, "111", m); err == nil || notifier.IsPermanent(err) || strings.Contains(err.Error(), token) {
		t.Errorf("API down: %v", err)
	}
}
