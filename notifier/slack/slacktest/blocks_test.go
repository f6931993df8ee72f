package slacktest

import (
	"fmt"
	"strings"
	"testing"
)

// TestCheckBlocks: the fake refuses what Slack refuses, so a test that
// passes through it did not pass by its leniency.
func TestCheckBlocks(t *testing.T) {
	header := func(text string) string {
		return fmt.Sprintf(`[{"type":"header","text":{"type":"plain_text","text":%q}}]`, text)
	}
	section := func(text string) string {
		return fmt.Sprintf(`[{"type":"section","text":{"type":"mrkdwn","text":%q}}]`, text)
	}
	button := func(text, id string) string {
		return fmt.Sprintf(`{"type":"button","action_id":%q,"value":"v","text":{"type":"plain_text","text":%q}}`, id, text)
	}
	fields := func(n int) string {
		f := make([]string, n)
		for i := range f {
			f[i] = `{"type":"mrkdwn","text":"x"}`
		}
		return `[{"type":"section","fields":[` + strings.Join(f, ",") + `]}]`
	}
	for _, tc := range []struct {
		name, blocks string
		ok           bool
	}{
		{"a Korean header of 150 characters", header(strings.Repeat("가", 150)), true},
		{"a header of 151", header(strings.Repeat("가", 151)), false},
		{"an empty header", header(""), false},
		{"a header in mrkdwn", `[{"type":"header","text":{"type":"mrkdwn","text":"x"}}]`, false},
		{"a section of 3000", section(strings.Repeat("장", 3000)), true},
		{"a section of 3001", section(strings.Repeat("장", 3001)), false},
		{"10 fields", fields(10), true},
		{"11 fields", fields(11), false},
		{"a button of 75", `[{"type":"actions","elements":[` + button(strings.Repeat("확", 75), "ack") + `]}]`, true},
		{"a button of 76", `[{"type":"actions","elements":[` + button(strings.Repeat("확", 76), "ack") + `]}]`, false},
		{"an action_id twice", `[{"type":"actions","elements":[` + button("a", "ack") + "," + button("b", "ack") + `]}]`, false},
		{"a block_id twice", `[{"type":"divider","block_id":"x"},{"type":"divider","block_id":"x"}]`, false},
		{"an unknown block", `[{"type":"carousel"}]`, false},
		{"51 blocks", "[" + strings.Repeat(`{"type":"divider"},`, 50) + `{"type":"divider"}]`, false},
		{"not JSON", `[{"type":`, false},
		{"escaped markup", section("a &lt;b&gt; &amp; c"), true},
		{"a user mention and a link", section("<@U0KIM> <https://example.com|shop>"), true},
		{"a stray <", section("a <b> c"), false},
		{"a stray &", section("AT&T"), false},
		{"an unclosed <", section("a < b"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckBlocks(tc.blocks)
			if (err == nil) != tc.ok {
				t.Errorf("CheckBlocks = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestMentions(t *testing.T) {
	got := Mentions("<@U0KIM> acked &lt;!channel&gt; <!here> <https://x.example|x>")
	want := []string{"@U0KIM", "!here", "https://x.example|x"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Mentions = %q, want %q", got, want)
	}
}
