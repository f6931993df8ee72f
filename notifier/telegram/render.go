package telegram

import (
	"fmt"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/notifier"
)

// escape makes text safe in Telegram's HTML parse mode, which knows only
// &lt;, &gt; and &amp; (and &quot; in attributes).
var escape = notifier.EscapeMarkup

// Text renders m as a Telegram HTML message.
func Text(m notifier.Message, loc *time.Location) string {
	var b strings.Builder
	if m.Group() || m.Provider != nil || (m.Kind != notifier.Down && m.Kind != notifier.Resolved) {
		if m.Kind == notifier.DeliveryFailed {
			return escape(notifier.Line(m, loc))
		}
		s := notifier.Summarize(m, loc)
		fmt.Fprintf(&b, "%s <b>%s</b>", s.Icon, escape(s.Title))
		for _, l := range s.Lines {
			b.WriteString("\n" + escape(l))
		}
		if m.AckBy != "" {
			fmt.Fprintf(&b, "\n👤 Acknowledged by %s at %s", escape(m.AckBy), m.AckAt.In(loc).Format("15:04 MST"))
		}
		return b.String()
	}
	switch m.Kind {
	case notifier.Down:
		fmt.Fprintf(&b, "🔴 <b>DOWN</b> %s\n", escape(m.Check))
		fmt.Fprintf(&b, "Incident #%d, down since %s", m.Incident, m.Start.In(loc).Format("Jan 2 15:04:05 MST"))
		if m.Error != "" {
			fmt.Fprintf(&b, "\n<code>%s</code>", escape(m.Error))
		}
		if m.AckBy != "" {
			fmt.Fprintf(&b, "\n👤 Acknowledged by %s at %s", escape(m.AckBy), m.AckAt.In(loc).Format("15:04 MST"))
		}
		if m.Note != "" {
			fmt.Fprintf(&b, "\n%s", escape(m.Note))
		}
	case notifier.Resolved:
		if m.ResolvedBy != "" {
			fmt.Fprintf(&b, "☑️ <b>CLOSED</b> %s\n", escape(m.Check))
			fmt.Fprintf(&b, "Incident #%d resolved by %s: %s", m.Incident, escape(m.ResolvedBy), notifier.Span(m.Start, m.End, loc))
			break
		}
		fmt.Fprintf(&b, "✅ <b>UP</b> %s\n", escape(m.Check))
		fmt.Fprintf(&b, "Incident #%d resolved: %s", m.Incident, notifier.Span(m.Start, m.End, loc))
	default:
		b.WriteString(escape(notifier.Line(m, loc)))
	}
	return b.String()
}
