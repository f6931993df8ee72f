package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// SecretHeader is where Telegram puts the webhook's secret_token.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// SetWebhook registers url with Telegram, with secret as the secret_token
// every update must carry, retrying with backoff until Telegram accepts it
// or ctx ends. go-telegram-bot-api v5.5.1 predates secret_token, so the
// request is made by hand.
func (t *Telegram) SetWebhook(ctx context.Context, url, secret string, log *slog.Logger) {
	wait := t.RetryWait
	for ctx.Err() == nil {
		_, err := t.with(ctx).MakeRequest("setWebhook", tgbotapi.Params{
			"url": url, "secret_token": secret, "allowed_updates": `["message","callback_query"]`,
		})
		if err == nil {
			log.Info("telegram webhook registered")
			return
		}
		log.Warn("telegram: registering the webhook failed; retrying", "in", wait, "err", classify("set webhook", err))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, time.Minute)
	}
}

// WebhookHandler serves Telegram's webhook requests: one carrying the
// wrong secret, or none, gets 401 and does nothing. A good one is answered
// at once and handled after, so Telegram never waits on a reply.
func (t *Telegram) WebhookHandler(ctx context.Context, secret string, h Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		got := r.Header.Get(SecretHeader)
		if subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		var u tgbotapi.Update
		if err := json.Unmarshal(body, &u); err != nil {
			http.Error(w, "not an update", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		go func() {
			defer func() {
				if p := recover(); p != nil {
					log.Error("telegram: an update could not be handled", "update", u.UpdateID, "panic", p)
				}
			}()
			hctx, cancel := context.WithTimeout(ctx, updateTimeout)
			defer cancel()
			t.handle(hctx, h, u, log)
		}()
	})
}
