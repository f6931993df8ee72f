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

	"github.com/slack-go/slack"

	"github.com/hostwatch/hostwatch/bot"
	"github.com/hostwatch/hostwatch/notifier"
)

// Slack sends to channels (C...) and users (U...); an address is their id.
// A receipt is "channel/ts": a message to a user lands in a direct-message
// channel of its own, which its later updates must name.
type Slack struct {
	api *slack.Client
	loc *time.Location
}

// New builds a Slack notifier for the bot token, talking to apiURL
// ("https://slack.com/api/").
func New(token, apiURL string, loc *time.Location) *Slack {
	return &Slack{
		api: slack.New(token, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(&http.Client{Timeout: 30 * time.Second})),
		loc: loc,
	}
}

// Send posts m to the channel or user at address; a follow-up goes in the
// thread of the message it follows.
func (s *Slack) Send(ctx context.Context, address string, m notifier.Message) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(Fallback(m, s.loc), true), slack.MsgOptionBlocks(Blocks(m, s.loc)...)}
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
		slack.MsgOptionText(Fallback(m, s.loc), true), slack.MsgOptionBlocks(Blocks(m, s.loc)...))
	if err != nil {
		return classify(fmt.Sprintf("update slack message %s in %s", ts, channel), err)
	}
	return nil
}

// Fallback is the plain text of m, for notifications and old clients.
func Fallback(m notifier.Message, loc *time.Location) string {
	return notifier.Line(m, loc)
}

// Blocks renders m in Block Kit: a header, the facts as fields, and the
// buttons while the incident is open.
func Blocks(m notifier.Message, loc *time.Location) []slack.Block {
	plain := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	var header string
	var fields []*slack.TextBlockObject
	var text *slack.TextBlockObject
	switch {
	case m.Group() || m.Provider != nil || (m.Kind != notifier.Down && m.Kind != notifier.Resolved && m.Kind != notifier.DeliveryFailed):
		// Facts of any number, as lines: a section holds ten fields at most.
		s := notifier.Summarize(m, loc)
		header = s.Icon + " " + s.Title
		text = plain(notifier.Clip(strings.Join(s.Lines, "\n"), 2900))
		if m.AckBy != "" {
			fields = append(fields, mention("Acknowledged by ", m.AckBy, " at "+m.AckAt.In(loc).Format("15:04 MST")))
		}
	case m.Kind == notifier.Down:
		header = "🔴 " + m.Check + " is down"
		fields = append(fields, plain("Check: "+m.Check), plain(fmt.Sprintf("Incident: #%d", m.Incident)),
			plain("Since: "+m.Start.In(loc).Format("Jan 2 15:04:05 MST")))
		if m.Error != "" {
			fields = append(fields, plain("Error: "+notifier.Clip(m.Error, 1900)))
		}
		if m.AckBy != "" {
			fields = append(fields, mention("Acknowledged by ", m.AckBy, " at "+m.AckAt.In(loc).Format("15:04 MST")))
		}
		if m.Note != "" {
			fields = append(fields, plain(notifier.Clip(m.Note, 1900)))
		}
	case m.Kind == notifier.Resolved:
		header = "✅ " + m.Check + " is back"
		fields = append(fields, plain(fmt.Sprintf("Incident: #%d", m.Incident)), plain(notifier.Span(m.Start, m.End, loc)))
		if m.ResolvedBy != "" {
			header = "☑️ " + m.Check + " closed by hand"
			fields = append(fields, mention("Closed by ", m.ResolvedBy, ""))
		}
	default:
		header = "⚠️ hostwatch"
		fields = append(fields, plain(notifier.Clip(notifier.Line(m, loc), 1900)))
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(notifier.Clip(header, 150))),
	}
	if text != nil || len(fields) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(text, fields, nil))
	}
	if m.Actionable() {
		var buttons []slack.BlockElement
		if m.AckBy == "" {
			ack := slack.NewButtonBlockElement("ack", bot.Action{Verb: "ack", Incident: m.Incident, Alert: m.Alert}.Encode(), plain("Acknowledge"))
			ack.Style = slack.StylePrimary
			buttons = append(buttons, ack)
		}
		buttons = append(buttons, slack.NewButtonBlockElement("silence",
			bot.Action{Verb: "silence", Incident: m.Incident, Alert: m.Alert, For: time.Hour}.Encode(), plain("Silence 1h")))
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

// mention renders "before who after" in mrkdwn: a Slack user shows as the
// person, any other name (a Telegram user's) as plain text.
func mention(before, who, after string) *slack.TextBlockObject {
	if !userMention.MatchString(who) {
		who = notifier.EscapeMarkup(who)
	}
	return slack.NewTextBlockObject(slack.MarkdownType, notifier.EscapeMarkup(before)+who+notifier.EscapeMarkup(after), false, false)
}

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
