package notifier

import (
	"fmt"
	"strings"
	"time"
)

// Line renders m as one line of plain text, with times in loc.
func Line(m Message, loc *time.Location) string {
	switch m.Kind {
	case Down:
		var b strings.Builder
		fmt.Fprintf(&b, "DOWN %s: incident #%d, down since %s", m.Check, m.Incident, stamp(m.Start, loc))
		if m.Error != "" {
			fmt.Fprintf(&b, ": %s", oneLine(m.Error))
		}
		if m.Failures > 1 {
			fmt.Fprintf(&b, " (%d failed probes)", m.Failures)
		}
		return b.String()
	case Resolved:
		if m.ResolvedBy != "" {
			return fmt.Sprintf("CLOSED %s: incident #%d resolved by %s, %s", m.Check, m.Incident, oneLine(m.ResolvedBy), Span(m.Start, m.End, loc))
		}
		return fmt.Sprintf("UP %s: incident #%d resolved, %s", m.Check, m.Incident, Span(m.Start, m.End, loc))
	case DeliveryFailed:
		return fmt.Sprintf("UNDELIVERABLE %s: incident #%d could not be sent there: %s", m.Destination, m.Incident, oneLine(m.Detail))
	}
	return fmt.Sprintf("%s %s: incident #%d", strings.ToUpper(string(m.Kind)), m.Check, m.Incident)
}

// Span renders an outage as "14:02–17:14, down 3h12m": clock times with
// seconds when the outage is short enough for them to matter, and dates
// when it crosses midnight.
func Span(start, end time.Time, loc *time.Location) string {
	start, end = start.In(loc), end.In(loc)
	d := end.Sub(start)
	layout := "15:04"
	if d < 10*time.Minute {
		layout = "15:04:05"
	}
	from, to := start.Format(layout), end.Format(layout)
	if start.Format(time.DateOnly) != end.Format(time.DateOnly) {
		from = start.Format("Jan 2 " + layout)
		to = end.Format("Jan 2 " + layout)
	}
	return fmt.Sprintf("%s–%s, down %s", from, to, Duration(d))
}

// Duration renders a downtime the way people say it: 3h12m, 12m30s, 45s,
// 2d4h.
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= 48*time.Hour:
		days := d / (24 * time.Hour)
		return fmt.Sprintf("%dd%dh", days, (d-days*24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", d/time.Hour, (d%time.Hour)/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", d/time.Minute, (d%time.Minute)/time.Second)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

func stamp(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// EscapeMarkup makes text inert in the markup of both chat apps: Telegram's
// HTML parse mode and Slack's mrkdwn escape the same three characters.
var EscapeMarkup = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// Clip cuts s to at most n characters, marking the cut with "…".
func Clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
