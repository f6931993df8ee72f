package telegram

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/hostwatch/hostwatch/bot"
	"github.com/hostwatch/hostwatch/notifier"
)

// Handler answers commands and button presses.
type Handler interface {
	Command(ctx context.Context, r bot.Request) []bot.Reply
	Press(ctx context.Context, r bot.Request, data string) string
}

// pollTimeout is how long one getUpdates waits for an update, in seconds.
const pollTimeout = 25

// pollEvery is the least time between two getUpdates calls that found
// nothing: a Bot API (or a proxy, or an emulator) that answers at once
// instead of waiting must not be asked thousands of times a second.
const pollEvery = time.Second

// Poll reads updates by long polling until ctx is done, and answers them.
// Updates are handled as soon as they come, and asked for again at once;
// an empty answer is followed by the next call no sooner than pollEvery
// after the last began. A failing Bot API is retried with backoff
// (RetryWait doubling to a minute), never in a busy loop; an update is
// confirmed (the offset moves past it) only after it was handled, so none
// is lost.
func (t *Telegram) Poll(ctx context.Context, h Handler, log *slog.Logger) error {
	api := *t.api
	api.Client = &http.Client{Timeout: (pollTimeout + 15) * time.Second}
	poller := &Telegram{api: &api, render: t.render}
	offset, wait := 0, t.RetryWait
	for ctx.Err() == nil {
		cfg := tgbotapi.NewUpdate(offset)
		cfg.Timeout = pollTimeout
		cfg.AllowedUpdates = []string{"message", "callback_query"}
		asked := time.Now()
		updates, err := poller.with(ctx).GetUpdates(cfg)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var apiErr *tgbotapi.Error
			if errors.As(err, &apiErr) && apiErr.Code == http.StatusConflict {
				// A webhook from an earlier setup: polling needs it gone.
				log.Info("telegram: removing the webhook to read updates by polling")
				if _, derr := poller.with(ctx).Request(tgbotapi.DeleteWebhookConfig{}); derr == nil {
					continue
				}
			}
			log.Warn("telegram: reading updates failed; retrying", "in", wait, "err", classify("get updates", err))
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
			wait = min(2*wait, time.Minute)
			continue
		}
		wait = t.RetryWait
		if len(updates) == 0 {
			select {
			case <-time.After(time.Until(asked.Add(pollEvery))):
			case <-ctx.Done():
			}
			continue
		}
		for _, u := range updates {
			// One slow answer must not hold up the others for long.
			uctx, cancel := context.WithTimeout(ctx, updateTimeout)
			t.handle(uctx, h, u, log)
			cancel()
			offset = u.UpdateID + 1
		}
	}
	// Confirm what was handled, so that the next start does not handle it
	// again.
	if offset > 0 {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		cfg := tgbotapi.NewUpdate(offset)
		cfg.Timeout = 0
		poller.with(cctx).GetUpdates(cfg)
		cancel()
	}
	return nil
}

// updateTimeout bounds the handling of one update.
const updateTimeout = 30 * time.Second

// handle answers one update: a command with replies in its chat, a button
// press with an answer to the callback.
func (t *Telegram) handle(ctx context.Context, h Handler, u tgbotapi.Update, log *slog.Logger) {
	switch {
	case u.Message != nil && u.Message.Chat != nil && strings.HasPrefix(u.Message.Text, "/"):
		chat := u.Message.Chat.ID
		r := bot.Request{Caller: strconv.FormatInt(chat, 10), User: who(u.Message.From), Text: u.Message.Text}
		for _, reply := range h.Command(ctx, r) {
			for _, part := range split(reply.Text, 4096) {
				msg := tgbotapi.NewMessage(chat, part)
				// Telegram would fetch a link to preview it: a ping URL
				// that /check shows would be pinged.
				msg.DisableWebPagePreview = true
				if _, err := t.with(ctx).Send(msg); err != nil {
					log.Error("telegram: reply failed", "chat", chat, "err", classify("reply", err))
				}
			}
			if f := reply.File; f != nil {
				doc := tgbotapi.NewDocument(chat, tgbotapi.FileBytes{Name: f.Name, Bytes: f.Data})
				if _, err := t.with(ctx).Send(doc); err != nil {
					log.Error("telegram: sending a file failed", "chat", chat, "err", classify("send document", err))
				}
			}
		}
	case u.CallbackQuery != nil:
		q := u.CallbackQuery
		r := bot.Request{User: who(q.From)}
		if q.Message != nil && q.Message.Chat != nil {
			r.Caller = strconv.FormatInt(q.Message.Chat.ID, 10)
		}
		answer := h.Press(ctx, r, q.Data)
		// Always answered, so the button stops spinning.
		if _, err := t.with(ctx).Request(tgbotapi.NewCallback(q.ID, notifier.Clip(answer, 200))); err != nil {
			log.Error("telegram: answering a button failed", "chat", r.Caller, "err", classify("answer callback", err))
		}
	}
}

func who(u *tgbotapi.User) string {
	switch {
	case u == nil:
		return "someone"
	case u.UserName != "":
		return "@" + u.UserName
	}
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}

// split cuts text into parts of at most n characters, at line ends where
// it can.
func split(text string, n int) []string {
	var parts []string
	for len([]rune(text)) > n {
		r := []rune(text)
		cut := strings.LastIndex(string(r[:n]), "\n")
		if cut <= 0 {
			cut = len(string(r[:n]))
		}
		parts = append(parts, text[:cut])
		text = strings.TrimPrefix(text[cut:], "\n")
	}
	return append(parts, text)
}
