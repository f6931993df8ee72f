package notifier

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/locale"
)

// Names are the names people know merchants and checks by.
type Names = locale.Names

// Renderer puts messages into words when they are delivered: in the
// reader's language, with the names people know, through the templates.
type Renderer struct {
	tmpl  *locale.Templates
	names Names
	log   *slog.Logger
}

// NewRenderer renders with tmpl and names; log hears of templates of the
// operator's that failed (the built-in ones stand in).
func NewRenderer(tmpl *locale.Templates, names Names, log *slog.Logger) *Renderer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Renderer{tmpl: tmpl, names: names, log: log}
}

// PlainRenderer renders in English with the built-in templates, times in
// loc and no display names: for tests and tools.
func PlainRenderer(loc *time.Location) *Renderer {
	t, err := locale.Load("", loc)
	if err != nil {
		panic(err) // the built-in templates are tested to parse
	}
	return NewRenderer(t, nil, nil)
}

// Location is where times are written.
func (r *Renderer) Location() *time.Location { return r.tmpl.Location() }

// Parts is a message in words, to be laid out by each platform its way.
type Parts struct {
	Icon  string // 🔴, ✅, ...
	Tag   string // DOWN, UP, ...: for one line of plain text
	Title string
	Lines []string // one fact each
}

// Markup is how a platform shows text that came from outside (names,
// errors, who acknowledged): Text makes it inert in the platform's markup,
// Code shows an error. Nil members leave the text as it is; errors are
// folded onto one line either way.
type Markup struct {
	Text func(string) string
	Code func(string) string
}

// Parts renders m in its reader's language, with mk applied to every text
// that came from outside before it meets the templates.
func (r *Renderer) Parts(m Message, mk Markup) Parts {
	v := r.view(m, mk)
	p := Parts{Icon: v.icon(), Tag: r.exec(m.Lang, "tag", v), Title: r.exec(m.Lang, "title", v)}
	for _, l := range strings.Split(r.exec(m.Lang, "facts", v), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			p.Lines = append(p.Lines, l)
		}
	}
	return p
}

// Layout runs the layout template name ("telegram", "text") on parts.
func (r *Renderer) Layout(lang locale.Lang, name string, p Parts) string {
	return r.exec(lang, name, p)
}

// Line renders m as one line of plain text.
func (r *Renderer) Line(m Message) string {
	return r.Layout(m.Lang, "text", r.Parts(m, Markup{}))
}

// Word is one of the short words of the interface ("button.ack") in lang.
func (r *Renderer) Word(lang locale.Lang, name string) string {
	return strings.TrimSpace(r.exec(lang, name, nil))
}

func (r *Renderer) exec(lang locale.Lang, name string, data any) string {
	s, err := r.tmpl.Exec(lang, name, data)
	if err != nil {
		r.log.Error("render a message", "template", name, "lang", lang, "err", err)
	}
	return s
}

// view is a message as the templates see it: names to show, texts
// escaped for the platform, counts worked out.
type view struct {
	Kind     string
	Group    bool
	Merchant string // the merchant's name to show
	Check    string // the check's name to show
	// CheckID is "merchant/check" when Check shows other words, so that
	// the reader has the id to type in commands; else empty.
	CheckID string
	// Labels are the labels of an alert a source reported, "k=v, k=v".
	Labels     string
	Incident   int64
	Start, End time.Time
	Error      string
	Where      *Where
	Failures   int
	ResolvedBy string
	AckBy      string
	AckAt      time.Time
	Silenced   *Silenced
	// Destination and Detail: where a message could not go, and why.
	Destination, Detail string
	Changes             int
	Window              time.Duration
	Since               time.Time
	// Location and Share: a location cut off or back, and the share of
	// its checks that failed at once.
	Location string
	Share    int
	Why      string
	// Entry, Hash and At: the head of the record's chain.
	Entry          int64
	Hash           string
	At             time.Time
	Items          []viewItem
	Down, Told, Of int
	Provider       *ProviderOutage
	Reason         *Reason
	Note           string
}

type viewItem struct {
	Name     string
	Labels   string
	Incident int64
	Start    time.Time
	End      time.Time
	Error    string
	AckBy    string
	Where    *Where
}

func (v view) icon() string {
	switch Kind(v.Kind) {
	case Down:
		if v.Group && v.Down == 0 {
			return "✅"
		}
		return "🔴"
	case Resolved:
		if v.ResolvedBy != "" {
			return "☑️"
		}
		return "✅"
	case ProviderDown:
		return "🔴"
	case ProviderUp:
		return "✅"
	case Flapping:
		return "🌀"
	case Steady:
		return "〰️"
	case ChainHead:
		return "🔗"
	}
	return "⚠️"
}

// escWhere is w with its locations escaped.
func escWhere(esc func(string) string, w *Where) *Where {
	if w == nil {
		return nil
	}
	each := func(names []string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = esc(n)
		}
		return out
	}
	return &Where{Down: each(w.Down), Up: each(w.Up), Cut: each(w.Cut), Of: w.Of}
}

func (r *Renderer) view(m Message, mk Markup) view {
	// Texts from outside may hold bytes that are not UTF-8 (an error
	// quoting a page): no chat app takes those.
	esc := func(s string) string {
		s = strings.ToValidUTF8(s, "\uFFFD")
		if mk.Text == nil {
			return s
		}
		return mk.Text(s)
	}
	code := func(s string) string {
		if s == "" {
			return ""
		}
		s = locale.OneLine(strings.ToValidUTF8(s, "\uFFFD"))
		if mk.Code == nil {
			return esc(s)
		}
		return mk.Code(s)
	}
	v := view{Kind: string(m.Kind), Group: m.Group(), Merchant: esc(r.merchant(m.Merchant)), Incident: m.Incident,
		Start: m.Start, End: m.End, Error: code(m.Error), Where: escWhere(esc, m.Where), Failures: m.Failures, ResolvedBy: esc(m.ResolvedBy),
		AckBy: esc(m.AckBy), AckAt: m.AckAt, Destination: esc(m.Destination), Detail: code(m.Detail),
		Changes: m.Changes, Window: m.Window, Since: m.Since, Entry: m.Entry, Hash: esc(m.Hash), At: m.At, Location: esc(m.Location), Share: m.Share, Why: m.Why, Of: m.Of, Note: esc(locale.OneLine(m.Note)), Told: len(m.Items)}
	switch {
	case m.Title != "":
		v.Check, v.Labels = esc(m.Title), esc(LabelText(m.Labels))
	case m.Check != "":
		name := r.check(m.Check)
		v.Check = esc(name)
		if name != m.Check {
			v.CheckID = esc(m.Check)
		}
	}
	if m.Silenced != nil {
		v.Silenced = &Silenced{By: esc(m.Silenced.By), Until: m.Silenced.Until}
	}
	if m.Provider != nil {
		p := *m.Provider
		p.Name = esc(p.Name)
		v.Provider = &p
	}
	if m.Reason != nil {
		rs := *m.Reason
		rs.By = esc(rs.By)
		v.Reason = &rs
	}
	for _, it := range m.Items {
		name, ok := r.names[it.Check]
		switch {
		case it.Title != "":
			name = it.Title
		case !ok:
			name = strings.TrimPrefix(it.Check, m.Merchant+"/")
		}
		v.Items = append(v.Items, viewItem{Name: esc(name), Labels: esc(LabelText(it.Labels)), Incident: it.Incident, Start: it.Start, End: it.End,
			Error: code(it.Error), AckBy: esc(it.AckBy), Where: escWhere(esc, it.Where)})
		if it.End.IsZero() {
			v.Down++
		}
	}
	return v
}

// LabelText shows an alert's labels as "k=v, k=v", sorted, without its
// alertname, which its title shows.
func LabelText(labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if k != "alertname" {
			parts = append(parts, k+"="+locale.OneLine(labels[k]))
		}
	}
	return Clip(strings.Join(parts, ", "), 300)
}

func (r *Renderer) merchant(id string) string { return r.names.Merchant(id) }

func (r *Renderer) check(id string) string { return r.names.Check(id) }

// Duration renders a length of time in English: 3h12m, 12m30s, 45s, 2d5h.
func Duration(d time.Duration) string { return locale.English.Duration(d) }

// Span renders an outage in English as "14:02–17:14, down 3h12m".
func Span(start, end time.Time, loc *time.Location) string {
	return fmt.Sprintf("%s, down %s", locale.English.Range(start.In(loc), end.In(loc)), Duration(end.Sub(start)))
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

// Reason says in words why m goes out now; empty when it has no reason.
func (r *Renderer) Reason(m Message) string {
	return locale.OneLine(r.exec(m.Lang, "reason", r.view(m, Markup{})))
}
