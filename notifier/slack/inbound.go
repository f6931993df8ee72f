package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/hostwatch/hostwatch/bot"
	"github.com/hostwatch/hostwatch/notifier"
)

// Handler answers commands and button presses.
type Handler interface {
	Command(ctx context.Context, r bot.Request) []bot.Reply
	Press(ctx context.Context, r bot.Request, data string) string
	Knows(id string) bool
}

// maxBody bounds what Slack may send: a slash command or an interaction
// payload is a few kilobytes.
const maxBody = 64 << 10

// Inbound serves the requests Slack sends: POST /slack/commands (the
// /hostwatch slash command) and POST /slack/interactions (button presses).
// Each must carry a valid signature under the signing secret, made within
// five minutes; anything else gets 401 and does nothing. Slack wants an
// answer within three seconds, so the request is acknowledged at once and
// the answer posted to its response_url after.
type Inbound struct {
	ctx     context.Context
	secret  string
	h       Handler
	log     *slog.Logger
	client  *http.Client
	apiHost string // response_url must point at Slack (or the configured API host)
	// Files, when set, attaches the files of replies in the command's
	// channel.
	Files Uploader

	mu   sync.Mutex
	seen map[string]time.Time // signatures accepted within the window
}

// Uploader shares a file in a channel.
type Uploader interface {
	Upload(ctx context.Context, channel, name string, data []byte) error
}

// NewInbound builds the handlers; apiURL is slack.api_url.
func NewInbound(ctx context.Context, signingSecret, apiURL string, h Handler, log *slog.Logger) *Inbound {
	host := ""
	if u, err := url.Parse(apiURL); err == nil {
		host = u.Host
	}
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Inbound{ctx: ctx, secret: signingSecret, h: h, log: log, client: client, apiHost: host, seen: map[string]time.Time{}}
}

// verified reads the body of a request from Slack and checks its signature.
func (in *Inbound) verified(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	sv, err := slack.NewSecretsVerifier(r.Header, in.secret)
	if err == nil {
		sv.Write(body)
		err = sv.Ensure()
	}
	if err == nil && in.replayed(r.Header.Get("X-Slack-Signature")) {
		err = errors.New("a request seen before")
	}
	if err != nil {
		in.log.Warn("slack: refused an unsigned, forged, stale or replayed request", "path", r.URL.Path, "err", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return nil, false
	}
	return values, true
}

// replayed reports whether a signature was accepted within the last five
// minutes (the window in which a captured request would still verify), and
// remembers it.
func (in *Inbound) replayed(signature string) bool {
	now := time.Now()
	in.mu.Lock()
	defer in.mu.Unlock()
	for sig, at := range in.seen {
		if now.Sub(at) > 6*time.Minute {
			delete(in.seen, sig)
		}
	}
	if _, ok := in.seen[signature]; ok {
		return true
	}
	in.seen[signature] = now
	return false
}

// caller is who asks, as the config knows them: a registered channel
// speaks for everyone in it (so register private channels); elsewhere, the
// user.
func (in *Inbound) caller(user, channel string) string {
	if in.h.Knows(channel) {
		return channel // a registered channel's rights, for all in it
	}
	return user
}

// Commands serves the /hostwatch slash command.
func (in *Inbound) Commands() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := in.verified(w, r)
		if !ok {
			return
		}
		w.WriteHeader(http.StatusOK)
		in.command(v.Get("user_id"), v.Get("channel_id"), v.Get("text"), v.Get("response_url"))
	})
}

// command answers a slash command on its response_url, after.
func (in *Inbound) command(user, channel, text, responseURL string) {
	req := bot.Request{Caller: in.caller(user, channel), User: "<@" + user + ">", Text: text}
	in.later(func(ctx context.Context) {
		for _, reply := range in.h.Command(ctx, req) {
			in.respond(ctx, responseURL, reply.Text)
			if f := reply.File; f != nil && in.Files != nil {
				// Shared where only those allowed see it: the registered
				// channel that asked, or else the asker's own DM.
				to := req.Caller
				if err := in.Files.Upload(ctx, to, f.Name, f.Data); err != nil {
					in.log.Error("slack: uploading a file failed", "channel", channel, "err", err)
					in.respond(ctx, responseURL, "Sorry, I could not attach "+f.Name+" here: "+err.Error())
				}
			}
		}
	})
}

// Interactions serves block_actions: the alert buttons.
func (in *Inbound) Interactions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := in.verified(w, r)
		if !ok {
			return
		}
		var ic slack.InteractionCallback
		if err := json.Unmarshal([]byte(v.Get("payload")), &ic); err != nil {
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		in.press(ic)
	})
}

// press answers the buttons of a block_actions interaction, after.
func (in *Inbound) press(ic slack.InteractionCallback) {
	if ic.Type != slack.InteractionTypeBlockActions {
		return
	}
	req := bot.Request{Caller: in.caller(ic.User.ID, ic.Channel.ID), User: "<@" + ic.User.ID + ">"}
	actions := ic.ActionCallback.BlockActions
	in.later(func(ctx context.Context) {
		for _, a := range actions {
			if a == nil {
				continue
			}
			in.respond(ctx, ic.ResponseURL, in.h.Press(ctx, req, a.Value))
		}
	})
}

// later does the work after the request was answered, bounded in time and
// safe from a panic.
func (in *Inbound) later(work func(context.Context)) {
	go func() {
		defer func() {
			if p := recover(); p != nil {
				in.log.Error("slack: a request could not be handled", "panic", p)
			}
		}()
		ctx, cancel := context.WithTimeout(in.ctx, 30*time.Second)
		defer cancel()
		work(ctx)
	}()
}

// respond posts an ephemeral answer to a response_url, which must point at
// Slack: a signed request still does not get to send us elsewhere.
func (in *Inbound) respond(ctx context.Context, responseURL, text string) {
	if text == "" {
		return
	}
	u, err := url.Parse(responseURL)
	if err != nil || (u.Host != in.apiHost && (u.Scheme != "https" || !strings.HasSuffix(u.Hostname(), ".slack.com"))) {
		in.log.Warn("slack: no usable response_url; answer dropped")
		return
	}
	body, _ := json.Marshal(map[string]any{"response_type": "ephemeral", "replace_original": false, "text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := in.client.Do(req)
	if err != nil {
		in.log.Error("slack: answering failed", "err", notifier.WithoutURL(err))
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		in.log.Error("slack: answering failed", "err", fmt.Sprintf("HTTP %d", resp.StatusCode))
	}
}
