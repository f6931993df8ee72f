package notifier_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/notifier/slack"
	"github.com/hostwatch/hostwatch/notifier/slack/slacktest"
	"github.com/hostwatch/hostwatch/notifier/telegram"
	"github.com/hostwatch/hostwatch/notifier/telegram/telegramtest"
)

// TestEveryKindThroughTheFakes sends every kind of message, in every
// language, through the real client libraries to the strict fakes: Block
// Kit within Slack's limits, HTML Telegram parses, edits as well as sends.
func TestEveryKindThroughTheFakes(t *testing.T) {
	tmpl, err := locale.Load("", seoul(t))
	if err != nil {
		t.Fatal(err)
	}
	r := notifier.NewRenderer(tmpl, names, nil)
	sl := slacktest.New("xoxb-test")
	defer sl.Close()
	tg := telegramtest.New("123:abc")
	defer tg.Close()
	platforms := map[string]notifier.Notifier{
		"C0123": slack.New("xoxb-test", sl.APIURL(), r),
		"111":   telegram.New("123:abc", tg.Endpoint(), r),
	}
	ctx := context.Background()
	for _, lang := range locale.Langs {
		for _, k := range kinds() {
			m := k.m
			m.Lang = lang
			for address, n := range platforms {
				receipt, err := n.Send(ctx, address, m)
				if err != nil {
					t.Errorf("%s %s to %s: %v (refused: %q)", lang, k.name, address, err, sl.Refused())
					continue
				}
				if e, ok := n.(notifier.Editor); ok && m.Actionable() {
					m.AckBy = "@lee"
					if err := e.Edit(ctx, address, receipt, m); err != nil {
						t.Errorf("%s %s: edit at %s: %v", lang, k.name, address, err)
					}
				}
			}
		}
	}
	if ms := sl.Messages("C0123"); len(ms) == 0 || !strings.Contains(ms[0].Blocks, "김씨네 가게") {
		t.Errorf("the Korean messages did not reach Slack: %d", len(ms))
	}
}

// slackUser is an acknowledgement by a Slack user: the one mention a
// message may make.
var slackUser = regexp.MustCompile(`^<@[UW][A-Z0-9]+>$`)

// FuzzMarkup: display names, ids, errors and who acknowledged, whatever
// their characters, never break Telegram's HTML or Slack's mrkdwn and
// Block Kit limits, and never become a mention Slack acts on.
func FuzzMarkup(f *testing.F) {
	for _, s := range []string{"김씨네 가게", "<!channel>", "a&b", "<b>x</i>", "&amp;", "`x`", "*bold* _it_", "<@U0KIM>",
		"\xff\xfe", strings.Repeat("가", 200), "<https://evil.example|click>", "&#x3C;", ""} {
		f.Add(s, s, "status 502: "+s, s)
	}
	tmpl, err := locale.Load("", time.UTC)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, display, id, errText, ackBy string) {
		r := notifier.NewRenderer(tmpl, notifier.Names{"kim-shop": display, "kim-shop/" + id: display}, nil)
		check := "kim-shop/" + id
		msgs := []notifier.Message{
			{Kind: notifier.Down, Alert: 1, Incident: 2, Merchant: "kim-shop", Check: check, Start: at, Error: errText, AckBy: ackBy,
				Silenced: &notifier.Silenced{By: ackBy, Until: at.Add(time.Hour)}},
			{Kind: notifier.Down, Alert: 1, Merchant: "kim-shop", Of: 3, Reason: &notifier.Reason{Code: notifier.AckTimeout, By: ackBy, Since: at},
				Items: []notifier.Item{{Incident: 2, Check: check, Start: at, Error: errText, AckBy: ackBy}, {Incident: 3, Check: "kim-shop/db", Start: at}}},
			{Kind: notifier.Resolved, Incident: 2, Merchant: "kim-shop", Check: check, Start: at, End: at.Add(time.Minute), ResolvedBy: ackBy},
			{Kind: notifier.DeliveryFailed, Incident: 2, Merchant: "kim-shop", Check: check, Destination: "slack:" + id, Detail: errText},
		}
		for _, lang := range locale.Langs {
			for _, m := range msgs {
				m.Lang = lang
				if err := telegramtest.CheckHTML(telegram.Text(r, m)); err != nil {
					t.Fatalf("%s %s: Telegram would refuse: %v\n%s", lang, m.Kind, err, telegram.Text(r, m))
				}
				raw, err := json.Marshal(slack.Blocks(r, m))
				if err != nil {
					t.Fatal(err)
				}
				if err := slacktest.CheckBlocks(string(raw)); err != nil {
					t.Fatalf("%s %s: Slack would refuse: %v\n%s", lang, m.Kind, err, raw)
				}
				var mentions []string
				var blocks []struct {
					Text struct{ Type, Text string } `json:"text"`
				}
				if err := json.Unmarshal(raw, &blocks); err != nil {
					t.Fatal(err)
				}
				for _, b := range blocks {
					if b.Text.Type == "mrkdwn" {
						mentions = append(mentions, slacktest.Mentions(b.Text.Text)...)
					}
				}
				for _, mention := range mentions {
					if !slackUser.MatchString(ackBy) || "<"+mention+">" != ackBy {
						t.Fatalf("%s %s: the message makes the mention <%s> (acknowledged by %q)", lang, m.Kind, mention, ackBy)
					}
				}
				if slackUser.MatchString(ackBy) && m.Kind == notifier.Down && !slices.Contains(mentions, ackBy[1:len(ackBy)-1]) {
					t.Fatalf("%s %s: the Slack user who acknowledged is not shown as the person: %s", lang, m.Kind, raw)
				}
			}
		}
	})
}
