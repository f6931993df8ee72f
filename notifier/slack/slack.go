package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/hostwatch/hostwatch/bot"
	"github.com/hostwatch/hostwatch/notifier"
)

// Slack sends to channels (C...) and users (U...); an address is their id.
// A receipt is "channel/ts": a message to a user lands in a direct-message
// channel of its own, which its later updates must name.
type Slack struct {
	api    *slack.Client
	render *notifier.Renderer
}

// New builds a Slack notifier for the bot token, talking to apiURL
// ("https://slack.com/api/"), putting messages into words with r.
func New(token, apiURL string, r *notifier.Renderer) *Slack {
	return &Slack{
		api:    slack.New(token, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(&http.Client{Timeout: 30 * time.Second})),
		render: r,
	}
}

// Send posts m to the channel or user at address; a follow-up goes in the
// thread of the message it follows.
func (s *Slack) Send(ctx context.Context, address string, m notifier.Message) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(Fallback(s.render, m), true), slack.MsgOptionBlocks(Blocks(s.render, m)...)}
	if ch, ts, ok := strings.Cut(m.ReplyTo, "/"); ok && ch != "" {
		// In the alert's thread, and in the channel too: a thread the
		// bot started notifies no one.
		threaded := append(opts, slack.MsgOptionTS(ts), slack.MsgOptionBroadcast())
		channel, ts, err := s.api.PostMessageContext(ctx, ch, threaded...)
		if err == nil {
			return channel + "/" + ts, nil
		}
		var api slack.SlackErrorResponse
		if !errors.As(err, &api) || api.Err != "thread_not_found" {
			return "", classify("post to slack "+ch, err)
		}
		address = ch // the alert was deleted: post on its own
	}
	channel, ts, err := s.api.PostMessageContext(ctx, address, opts...)
	if err != nil {
		return "", classify("post to slack "+address, err)
	}
	return channel + "/" + ts, nil
}

// Upload shares a file in a channel, or with a user (U..., W...) in the
// bot's DM with them, with the Web API's external upload: a URL to put it
// at, then the completion that shares it.
func (s *Slack) Upload(ctx context.Context, channel, name string, data []byte) error {
	if strings.HasPrefix(channel, "U") || strings.HasPrefix(channel, "W") {
		dm, _, _, err := s.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{channel}})
		if err != nil {
			return classify("open a DM with "+channel, err)
		}
		channel = dm.ID
	}
	_, err := s.api.UploadFileContext(ctx, slack.UploadFileParameters{Channel: channel, Filename: name, Title: name,
		FileSize: len(data), Reader: bytes.NewReader(data)})
	if err != nil {
		return classify("upload "+name+" to slack", err)
	}
	return nil
}

// Edit replaces the message receipt with m, buttons included.
func (s *Slack) Edit(ctx context.Context, _, receipt string, m notifier.Message) error {
	channel, ts, ok := strings.Cut(receipt, "/")
	if !ok {
		return notifier.Permanent(fmt.Errorf("slack: %q is no message receipt", receipt))
	}
	_, _, _, err := s.api.UpdateMessageContext(ctx, channel, ts,
		slack.MsgOptionText(Fallback(s.render, m), true), slack.MsgOptionBlocks(Blocks(s.render, m)...))
	if err != nil {
		return classify(fmt.Sprintf("update slack message %s in %s", ts, channel), err)
	}
	return nil
}

// Fallback is the plain text of m, for notifications and old clients.
func Fallback(r *notifier.Renderer, m notifier.Message) string {
	return notifier.Clip(r.Line(m), 3000)
}

// markup is how a message's outside texts show in mrkdwn: inert, but for
// a Slack user who acknowledged, who shows as the person.
var markup = notifier.Markup{
	Text: func(s string) string {
		if userMention.MatchString(s) {
			return s
		}
		return notifier.EscapeMarkup(s)
	},
	Code: func(s string) string { return "`" + strings.ReplaceAll(notifier.EscapeMarkup(s), "`", "'") + "`" },
}

// Blocks renders m in Block Kit, in its reader's language: a header, the
// facts, and the buttons while the incident is open.
func Blocks(r *notifier.Renderer, m notifier.Message) []slack.Block {
	plain := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	head := r.Parts(m, notifier.Markup{})
	body := r.Parts(m, markup)
	blocks := []slack.Block{slack.NewHeaderBlock(plain(notifier.Clip(head.Icon+" "+head.Title, 150)))}
	lines := body.Lines
	for len(lines) > 1 && utf8.RuneCountInString(strings.Join(lines, "\n")) > 2900 {
		lines = append(lines[:len(lines)-2], "…")
	}
	if len(lines) > 0 {
		text := slack.NewTextBlockObject(slack.MarkdownType, notifier.Clip(strings.Join(lines, "\n"), 3000), false, false)
		blocks = append(blocks, slack.NewSectionBlock(text, nil, nil))
	}
	if m.Actionable() {
		var buttons []slack.BlockElement
		if m.AckBy == "" {
			ack := slack.NewButtonBlockElement("ack", bot.Action{Verb: "ack", Incident: m.Incident, Alert: m.Alert}.Encode(),
				plain(r.Word(m.Lang, "button.ack")))
			ack.Style = slack.StylePrimary
			buttons = append(buttons, ack)
		}
		buttons = append(buttons, slack.NewButtonBlockElement("silence",
			bot.Action{Verb: "silence", Incident: m.Incident, Alert: m.Alert, For: time.Hour}.Encode(), plain(r.Word(m.Lang, "button.silence"))))
		block := fmt.Sprintf("incident-%d", m.Incident)
		if m.Alert != 0 {
			block = fmt.Sprintf("alert-%d", m.Alert)
		}
		blocks = append(blocks, slack.NewActionBlock(block, buttons...))
	}
	return blocks
}

// userMention is a Slack mention of a user, the one markup let through.
var userMention = regexp.MustCompile(`^<@[UW][A-Z0-9]+>$`)

// classify turns a Web API error into the dispatcher's kinds.
func classify(what string, err error) error {
	var rl *slack.RateLimitedError
	var status slack.StatusCodeError
	var api slack.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		return notifier.RetryAfter(rl.RetryAfter, fmt.Errorf("%s: %w", what, err))
	case errors.As(err, &status):
		return fmt.Errorf("%s: %w", what, err)
	case errors.As(err, &api):
		switch api.Err {
		case "channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text",
			"invalid_blocks", "message_not_found", "cant_update_message", "user_not_found":
			return notifier.Permanent(fmt.Errorf("%s: %s", what, api.Err))
		}
		// invalid_auth, token_revoked, internal_error, ...: the token or
		// Slack, not the channel; retry.
		return fmt.Errorf("%s: %s", what, api.Err)
	}
	return fmt.Errorf("%s: %w", what, notifier.WithoutURL(err))
}
