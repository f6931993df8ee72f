package telegram

import (
	"unicode/utf8"

	"github.com/hostwatch/hostwatch/notifier"
)

// escape makes text safe in Telegram's HTML parse mode, which knows only
// &lt;, &gt; and &amp; (and &quot; in attributes).
var escape = notifier.EscapeMarkup

// markup is how a message's outside texts show in Telegram's HTML.
var markup = notifier.Markup{
	Text: escape,
	Code: func(s string) string { return "<code>" + escape(s) + "</code>" },
}

// Text renders m as a Telegram HTML message, in its reader's language. A
// message over Telegram's 4,096 characters loses its last facts, never
// half a tag.
func Text(r *notifier.Renderer, m notifier.Message) string {
	p := r.Parts(m, markup)
	text := r.Layout(m.Lang, "telegram", p)
	for utf8.RuneCountInString(text) > 4000 && len(p.Lines) > 1 {
		p.Lines = append(p.Lines[:len(p.Lines)-2], "…")
		text = r.Layout(m.Lang, "telegram", p)
	}
	return text
}
