package slacktest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// CheckBlocks refuses what Slack refuses as invalid_blocks: more than 50
// blocks, a block type the fake does not know, and what breaks Block Kit's
// limits (a header's plain text over 150 characters, a section's text over
// 3,000 or more than 10 fields of over 2,000, more than 25 elements of an
// actions block, a button's text over 75 characters or not plain text, an
// action_id or block_id used twice) or its mrkdwn (see CheckMrkdwn).
func CheckBlocks(raw string) error {
	var blocks []block
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return fmt.Errorf("blocks are not a JSON array of objects: %v", err)
	}
	if len(blocks) == 0 || len(blocks) > 50 {
		return fmt.Errorf("%d blocks: 1 to 50 allowed", len(blocks))
	}
	blockIDs := map[string]bool{}
	for i, b := range blocks {
		at := fmt.Sprintf("blocks[%d]", i)
		if b.BlockID != "" {
			if blockIDs[b.BlockID] || len(b.BlockID) > 255 {
				return fmt.Errorf("%s: block_id %q repeated or too long", at, b.BlockID)
			}
			blockIDs[b.BlockID] = true
		}
		if err := b.check(); err != nil {
			return fmt.Errorf("%s (%s): %w", at, b.Type, err)
		}
	}
	return nil
}

type text struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji *bool  `json:"emoji"`
}

type element struct {
	Type     string `json:"type"`
	Text     *text  `json:"text"`
	ActionID string `json:"action_id"`
	Value    string `json:"value"`
	Style    string `json:"style"`
}

type block struct {
	Type     string    `json:"type"`
	BlockID  string    `json:"block_id"`
	Text     *text     `json:"text"`
	Fields   []text    `json:"fields"`
	Elements []element `json:"elements"`
}

func (b block) check() error {
	switch b.Type {
	case "header":
		if b.Text == nil || b.Text.Type != "plain_text" {
			return fmt.Errorf("a header's text must be plain_text")
		}
		return b.Text.check(150)
	case "section":
		if b.Text == nil && len(b.Fields) == 0 {
			return fmt.Errorf("a section needs text or fields")
		}
		if b.Text != nil {
			if err := b.Text.check(3000); err != nil {
				return err
			}
		}
		if len(b.Fields) > 10 {
			return fmt.Errorf("%d fields: at most 10", len(b.Fields))
		}
		for _, f := range b.Fields {
			if err := f.check(2000); err != nil {
				return fmt.Errorf("field: %w", err)
			}
		}
	case "actions":
		if len(b.Elements) == 0 || len(b.Elements) > 25 {
			return fmt.Errorf("%d elements: 1 to 25 allowed", len(b.Elements))
		}
		ids := map[string]bool{}
		for _, e := range b.Elements {
			if e.Type != "button" {
				return fmt.Errorf("element type %q not expected", e.Type)
			}
			if e.Text == nil || e.Text.Type != "plain_text" {
				return fmt.Errorf("a button's text must be plain_text")
			}
			if err := e.Text.check(75); err != nil {
				return fmt.Errorf("button: %w", err)
			}
			if e.ActionID == "" || len(e.ActionID) > 255 || ids[e.ActionID] {
				return fmt.Errorf("action_id %q missing, too long or repeated", e.ActionID)
			}
			ids[e.ActionID] = true
			if len(e.Value) > 2000 {
				return fmt.Errorf("button value over 2000 characters")
			}
			if e.Style != "" && e.Style != "primary" && e.Style != "danger" {
				return fmt.Errorf("button style %q", e.Style)
			}
		}
	case "context":
		if len(b.Elements) == 0 || len(b.Elements) > 10 {
			return fmt.Errorf("%d elements: 1 to 10 allowed", len(b.Elements))
		}
	case "divider":
	default:
		return fmt.Errorf("unknown block type")
	}
	return nil
}

func (t text) check(max int) error {
	n := utf8.RuneCountInString(t.Text)
	switch {
	case t.Type != "plain_text" && t.Type != "mrkdwn":
		return fmt.Errorf("text type %q", t.Type)
	case t.Type == "mrkdwn" && t.Emoji != nil:
		return fmt.Errorf("emoji is only for plain_text")
	case n == 0 || n > max:
		return fmt.Errorf("text of %d characters: 1 to %d allowed", n, max)
	case !utf8.ValidString(t.Text):
		return fmt.Errorf("text is not UTF-8")
	case t.Type == "mrkdwn":
		return CheckMrkdwn(t.Text)
	}
	return nil
}

// control is what Slack reads between < and > in mrkdwn: a user, a
// channel, a special mention, or a link with an optional label.
var control = regexp.MustCompile(`^(@[UW][A-Z0-9]+|#C[A-Z0-9]+(\|[^<>|]*)?|!(here|channel|everyone)|!subteam\^[A-Z0-9]+|(https?://|mailto:)[^<>|\s]+(\|[^<>|]*)?)$`)

// CheckMrkdwn refuses mrkdwn with a '<' that starts no control sequence,
// and a '&' that starts none of the three entities Slack asks for (&amp;,
// &lt;, &gt;): text put in without escaping.
func CheckMrkdwn(s string) error {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 || !control.MatchString(s[i+1:i+end]) {
				return fmt.Errorf("stray '<' at byte offset %d", i)
			}
			i += end
		case '&':
			if !strings.HasPrefix(s[i:], "&amp;") && !strings.HasPrefix(s[i:], "&lt;") && !strings.HasPrefix(s[i:], "&gt;") {
				return fmt.Errorf("stray '&' at byte offset %d", i)
			}
		}
	}
	return nil
}

// Mentions lists the control sequences of mrkdwn s: the users, channels,
// special mentions and links Slack will make of it.
func Mentions(s string) []string {
	var out []string
	for {
		start := strings.IndexByte(s, '<')
		if start < 0 {
			return out
		}
		end := strings.IndexByte(s[start:], '>')
		if end < 0 {
			return out
		}
		if seq := s[start+1 : start+end]; control.MatchString(seq) {
			out = append(out, seq)
		}
		s = s[start+end+1:]
	}
}
