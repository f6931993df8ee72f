package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/hostwatch/hostwatch/bot"
	"github.com/hostwatch/hostwatch/notifier"
)

// Telegram sends to chats; an address is a chat id.
type Telegram struct {
	api    *tgbotapi.BotAPI
	render *notifier.Renderer
	// RetryWait is the first wait after a failed read of updates; it
	// doubles up to a minute. Default one second.
	RetryWait time.Duration
}

// New builds a Telegram notifier for the bot with token, talking to
// endpoint (tgbotapi's format, "https://api.telegram.org/bot%s/%s"),
// putting messages into words with r. It makes no request: a Bot API that
// is down at start delays messages, it does not stop the daemon.
func New(token, endpoint string, r *notifier.Renderer) *Telegram {
	api := &tgbotapi.BotAPI{Token: token, Client: &http.Client{Timeout: 30 * time.Second}, Buffer: 100}
	api.SetAPIEndpoint(endpoint)
	return &Telegram{api: api, render: r, RetryWait: time.Second}
}

// Username asks the Bot API for the bot's username, for commands addressed
// as /status@name in groups.
func (t *Telegram) Username(ctx context.Context) (string, error) {
	me, err := t.with(ctx).GetMe()
	if err != nil {
		return "", classify("get the bot's name", err)
	}
	return me.UserName, nil
}

// ctxClient binds a request to a context: tgbotapi's own requests carry
// none, so a shutdown could not cut them short.
type ctxClient struct {
	ctx  context.Context
	base tgbotapi.HTTPClient
}

func (c ctxClient) Do(req *http.Request) (*http.Response, error) {
	return c.base.Do(req.WithContext(c.ctx))
}

// with returns a copy of the API whose requests end with ctx.
func (t *Telegram) with(ctx context.Context) *tgbotapi.BotAPI {
	api := *t.api
	api.Client = ctxClient{ctx: ctx, base: t.api.Client}
	return &api
}

// Send posts m to the chat at address and returns the message id.
func (t *Telegram) Send(ctx context.Context, address string, m notifier.Message) (string, error) {
	chat, err := strconv.ParseInt(address, 10, 64)
	if err != nil {
		return "", notifier.Permanent(fmt.Errorf("telegram: %q is not a chat id", address))
	}
	msg := tgbotapi.NewMessage(chat, Text(t.render, m))
	msg.ParseMode = tgbotapi.ModeHTML
	msg.DisableWebPagePreview = true
	if kb := t.keyboard(m); kb != nil {
		msg.ReplyMarkup = *kb
	}
	sent, err := t.with(ctx).Send(msg)
	if err != nil {
		return "", classify(fmt.Sprintf("send to telegram chat %d", chat), err)
	}
	return strconv.Itoa(sent.MessageID), nil
}

// Edit replaces the text of the message receipt in the chat at address,
// and its buttons: an incident that is no longer open has none.
func (t *Telegram) Edit(ctx context.Context, address, receipt string, m notifier.Message) error {
	chat, err := strconv.ParseInt(address, 10, 64)
	if err != nil {
		return notifier.Permanent(fmt.Errorf("telegram: %q is not a chat id", address))
	}
	id, err := strconv.Atoi(receipt)
	if err != nil {
		return notifier.Permanent(fmt.Errorf("telegram: %q is not a message id", receipt))
	}
	edit := tgbotapi.NewEditMessageText(chat, id, Text(t.render, m))
	edit.ParseMode = tgbotapi.ModeHTML
	edit.DisableWebPagePreview = true
	edit.ReplyMarkup = t.keyboard(m)
	if _, err := t.with(ctx).Send(edit); err != nil {
		if strings.Contains(err.Error(), "message is not modified") {
			return nil // already says this: nothing to do
		}
		return classify(fmt.Sprintf("edit telegram message %d in chat %d", id, chat), err)
	}
	return nil
}

// keyboard is the alert's buttons: Acknowledge (until someone did) and
// Silence 1h while the incident is open, none after; labelled in the
// reader's language.
func (t *Telegram) keyboard(m notifier.Message) *tgbotapi.InlineKeyboardMarkup {
	if !m.Actionable() {
		return nil
	}
	var row []tgbotapi.InlineKeyboardButton
	if m.AckBy == "" {
		row = append(row, tgbotapi.NewInlineKeyboardButtonData(t.render.Word(m.Lang, "button.ack"), bot.Action{Verb: "ack", Incident: m.Incident, Alert: m.Alert}.Encode()))
	}
	row = append(row, tgbotapi.NewInlineKeyboardButtonData(t.render.Word(m.Lang, "button.silence"), bot.Action{Verb: "silence", Incident: m.Incident, Alert: m.Alert, For: time.Hour}.Encode()))
	kb := tgbotapi.NewInlineKeyboardMarkup(row)
	return &kb
}

// classify turns a Bot API error into the dispatcher's kinds.
func classify(what string, err error) error {
	var apiErr *tgbotapi.Error
	if !errors.As(err, &apiErr) {
		// The network: retry. The request's URL holds the bot token.
		return fmt.Errorf("%s: %w", what, notifier.WithoutURL(err))
	}
	wrapped := fmt.Errorf("%s: %d %s", what, apiErr.Code, apiErr.Message)
	switch {
	case apiErr.Code == http.StatusTooManyRequests:
		wait := time.Duration(apiErr.RetryAfter) * time.Second
		if wait <= 0 {
			return wrapped
		}
		return notifier.RetryAfter(wait, wrapped)
	case apiErr.Code >= 500:
		return wrapped
	case apiErr.Code == http.StatusUnauthorized || apiErr.Code == http.StatusNotFound:
		// A wrong or revoked token says nothing about the chat: keep the
		// messages until the token is fixed.
		return wrapped
	default: // 400 chat not found, 403 blocked, ...
		return notifier.Permanent(wrapped)
	}
}
