package slack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	// Replays remembers the requests taken; shared through the store, a
	// request taken by one instance is refused by every other. By
	// default they are kept in this process.
	Replays ReplayGuard
}

// ReplayGuard remembers what was taken until it expires.
type ReplayGuard interface {
	// TakeOnce records key until expires and reports whether it is new.
	TakeOnce(ctx context.Context, key string, now, expires time.Time) (bool, error)
}

// replayWindow is how long a signed request is remembered: Slack's
// verifier takes a timestamp up to five minutes off in either direction,
// so a request can verify for ten.
const replayWindow = 11 * time.Minute

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
	return &Inbound{ctx: ctx, secret: signingSecret, h: h, log: log, client: client, apiHost: host,
		Replays: &memoryGuard{seen: map[string]time.Time{}}}
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
	if err != nil {
		in.log.Warn("slack: refused an unsigned, forged or stale request", "path", r.URL.Path, "err", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	switch fresh, err := in.takeOnce(r.Context(), r.Header.Get("X-Slack-Request-Timestamp"), body); {
	case err != nil:
		// Unsure whether it was taken: refused, and Slack tells the user
		// to try again, rather than a silence made twice.
		in.log.Error("slack: request refused: could not check it against those taken", "path", r.URL.Path, "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return nil, false
	case !fresh:
		in.log.Warn("slack: refused a replayed request", "path", r.URL.Path)
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

// takeOnce reports whether a verified request is taken for the first time.
// It is known by what Slack signed, its timestamp and body, not by the
// signature's spelling: hex in upper or lower case verifies the same.
func (in *Inbound) takeOnce(ctx context.Context, timestamp string, body []byte) (bool, error) {
	sum := sha256.Sum256(body)
	key := "slack:" + timestamp + ":" + hex.EncodeToString(sum[:])
	now := time.Now()
	return in.Replays.TakeOnce(ctx, key, now, now.Add(replayWindow))
}

// memoryGuard keeps the requests taken in this process.
type memoryGuard struct {
	mu   sync.Mutex
	seen map[string]time.Time // key → when it expires
}

func (g *memoryGuard) TakeOnce(_ context.Context, key string, now, expires time.Time) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, until := range g.seen {
		if !until.After(now) {
			delete(g.seen, k)
		}
	}
	if _, ok := g.seen[key]; ok {
		return false, nil
	}
	g.seen[key] = expires
	return true, nil
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
