package notifier

import (
	"fmt"
	"strings"
	"time"
)

// Line renders m as one line of plain text, with times in loc.
func Line(m Message, loc *time.Location) string {
	if m.Group() || m.Kind == ProviderDown || m.Kind == ProviderUp || m.Kind == Flapping || m.Kind == Steady {
		s := Summarize(m, loc)
		return s.Tag + " " + s.Title + ": " + strings.Join(s.Lines, "; ")
	}
	var extra string
	if m.Provider != nil {
		extra += "; " + providerLine(*m.Provider, loc)
	}
	if m.Note != "" {
		extra += "; " + oneLine(m.Note)
	}
	return line(m, loc) + extra
}

func line(m Message, loc *time.Location) string {
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

// Summary is a message in parts that each chat app draws its own way.
type Summary struct {
	Tag   string // DOWN, UP, PROVIDER DOWN, ...: for plain text
	Icon  string // 🔴, ✅, ...: for chat apps
	Title string
	Lines []string // plain text, one fact each
}

// Summarize breaks m into a title and lines of facts, with times in loc.
func Summarize(m Message, loc *time.Location) Summary {
	var s Summary
	switch m.Kind {
	case Down, Resolved:
		s = summarizeAlert(m, loc)
	case ProviderDown:
		p := m.Provider
		s = Summary{Tag: "PROVIDER DOWN", Icon: "🔴", Title: p.Name + " looks down",
			Lines: []string{fmt.Sprintf("%d of %d checks unreachable since %s", p.Down, p.Of, p.Since.In(loc).Format("15:04"))}}
	case ProviderUp:
		p := m.Provider
		s = Summary{Tag: "PROVIDER UP", Icon: "✅", Title: p.Name + " is back",
			Lines: []string{fmt.Sprintf("at worst %d of %d checks down: %s", p.Down, p.Of, Span(p.Since, p.End, loc))}}
	case Flapping:
		s = Summary{Tag: "FLAPPING", Icon: "🌀", Title: m.Check + " is flapping",
			Lines: []string{oneLine(m.Detail), "its down and up messages are held until it is steady"}}
	case Steady:
		state := "up"
		if m.End.IsZero() {
			state = "down"
		}
		s = Summary{Tag: "STEADY", Icon: "〰️", Title: m.Check + " is steady again",
			Lines: []string{oneLine(m.Detail), "it is " + state + " now"}}
	default:
		s = Summary{Tag: strings.ToUpper(string(m.Kind)), Icon: "⚠️", Title: "hostwatch", Lines: []string{line(m, loc)}}
	}
	if m.Note != "" {
		s.Lines = append(s.Lines, oneLine(m.Note))
	}
	return s
}

// summarizeAlert is a merchant's alert: one check or several.
func summarizeAlert(m Message, loc *time.Location) Summary {
	if !m.Group() {
		s := Summary{Tag: "DOWN", Icon: "🔴", Title: m.Check + " is down"}
		if m.Kind == Resolved {
			s = Summary{Tag: "UP", Icon: "✅", Title: m.Check + " is back"}
		}
		s.Lines = []string{strings.TrimPrefix(line(m, loc), s.Tag+" "+m.Check+": ")}
		if m.Provider != nil {
			s.Lines = append(s.Lines, providerLine(*m.Provider, loc))
		}
		return s
	}
	down := m.StillDown()
	var s Summary
	switch {
	case down == 0:
		s = Summary{Tag: "UP", Icon: "✅", Title: fmt.Sprintf("all of %s's checks are back", m.Merchant)}
	case m.Of > 0:
		s = Summary{Tag: "DOWN", Icon: "🔴", Title: fmt.Sprintf("%d of %s's %d checks are down", down, m.Merchant, m.Of)}
	default:
		s = Summary{Tag: "DOWN", Icon: "🔴", Title: fmt.Sprintf("%d of %s's checks are down", down, m.Merchant)}
	}
	if m.Provider != nil {
		s.Lines = append(s.Lines, providerLine(*m.Provider, loc))
	}
	for _, it := range m.Items {
		name := strings.TrimPrefix(it.Check, m.Merchant+"/")
		var l string
		if it.End.IsZero() {
			l = fmt.Sprintf("%s down since %s (#%d)", name, it.Start.In(loc).Format("15:04:05"), it.Incident)
			if it.Error != "" {
				l += ": " + Clip(oneLine(it.Error), 200)
			}
			if it.AckBy != "" {
				l += ", acknowledged by " + oneLine(it.AckBy)
			}
		} else {
			l = fmt.Sprintf("%s back: %s (#%d)", name, Span(it.Start, it.End, loc), it.Incident)
		}
		s.Lines = append(s.Lines, l)
	}
	return s
}

func providerLine(p ProviderOutage, loc *time.Location) string {
	return fmt.Sprintf("%s looks down: %d of %d checks unreachable since %s", p.Name, p.Down, p.Of, p.Since.In(loc).Format("15:04"))
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
