package web

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/report"
	"github.com/hostwatch/hostwatch/store"
)

//go:embed status.html
var pages embed.FS

var statusTemplate = template.Must(template.New("status.html").ParseFS(pages, "status.html"))

// barDays is how many days the uptime bar shows.
const barDays = 90

type pageData struct {
	Lang    string
	Title   string
	Heading string
	Back    bool
	// Single is a merchant's own page: its name heads the page, once.
	Single    bool
	AllUp     bool
	Merchants []merchantView
	// Outages are the banners of the providers that look down.
	Outages []string
	Open    []string
	Recent  []string
	Token   string // carried in links when the page is not public
	// Words are the page's fixed words, in its language.
	Banner, Bar, DaysAgo, Today, OpenHeading, RecentHeading, Footer string
}

type merchantView struct {
	ID     string
	Name   string
	Link   string
	Checks []checkView
}

type checkView struct {
	ID        string // the check's name in the config, for data-check
	Name      string // as people know it
	State     string // up, down, unknown
	StateText string
	Since     string
	Uptime    string
	Days      []dayView
	Error     string
	// Where is what each location sees of a check probed from several.
	Where []whereView
}

type whereView struct {
	Location, State, Text string
}

// down reports whether the check is down now.
func (c checkView) down() bool { return c.State == string(store.Down) }

type dayView struct {
	Class string // up, minor, major, none
	Title string
}

// word renders the page's template name in its language.
func (s *status) word(name string, data any) string {
	text, err := s.words.Exec(s.o.Lang.Or(locale.English), name, data)
	if err != nil {
		s.log.Error("render the status page", "template", name, "err", err)
	}
	return text
}

func (s *status) page(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "")
}

func (s *status) merchantPage(w http.ResponseWriter, r *http.Request) {
	m := r.PathValue("merchant")
	known := false
	for _, st := range s.o.Record.Statuses() {
		known = known || merchantOf(st.Check.ID) == m
	}
	if !known || !s.shown(m) {
		http.Error(w, "no merchant is named "+m, http.StatusNotFound)
		return
	}
	s.render(w, r, m)
}

// render draws the page of every shown merchant, or of one.
func (s *status) render(w http.ResponseWriter, r *http.Request, only string) {
	now := s.now()
	merchants, checksOf := s.shownChecks(only)
	of := merchants
	if only == "" && len(s.o.Merchants) == 0 {
		of = nil // every merchant's, those with no check but alerts of sources too
	}
	rep, err := s.o.Record.Report(r.Context(), of, fmt.Sprintf("%dd", barDays))
	if err != nil {
		http.Error(w, "the record cannot be read just now", http.StatusServiceUnavailable)
		return
	}
	figures := map[string]report.Check{}
	for _, c := range rep.Checks {
		figures[c.Check] = c
	}
	incidentsOf := map[string][]report.Incident{}
	for _, in := range rep.Incidents {
		incidentsOf[in.Check] = append(incidentsOf[in.Check], in)
	}
	data := pageData{Lang: string(s.o.Lang.Or(locale.English)), Title: s.o.Title, Heading: s.o.Title, Back: only != "",
		Single: only != "", AllUp: true,
		Bar: s.word("page.bar", nil), DaysAgo: s.word("page.days_ago", nil), Today: s.word("page.today", nil),
		OpenHeading: s.word("page.open", nil), RecentHeading: s.word("page.recent", nil), Footer: s.word("page.footer", now)}
	if !s.o.Public && r.URL.Query().Get("token") != "" {
		data.Token = s.o.Token // carried in links only when it came in one
	}
	if only != "" {
		data.Heading = s.o.Names.Merchant(only)
	}
	down := 0
	shown := map[string]bool{}
	for _, m := range merchants {
		mv := merchantView{ID: m, Name: s.o.Names.Merchant(m), Link: "/m/" + m}
		for _, st := range checksOf[m] {
			shown[st.Check.ID] = true
			cv := s.checkView(r, st, figures[st.Check.ID], incidentsOf[st.Check.ID], now)
			if cv.down() {
				data.AllUp = false
				down++
			}
			mv.Checks = append(mv.Checks, cv)
		}
		// What is down comes first, and in the order of the config.
		slices.SortStableFunc(mv.Checks, func(a, b checkView) int { return downFirst(a.down(), b.down()) })
		data.Merchants = append(data.Merchants, mv)
	}
	slices.SortStableFunc(data.Merchants, func(a, b merchantView) int {
		return downFirst(slices.ContainsFunc(a.Checks, checkView.down), slices.ContainsFunc(b.Checks, checkView.down))
	})
	data.Outages = s.outages(r, shown)
	for i := len(rep.Incidents) - 1; i >= 0; i-- {
		in := rep.Incidents[i]
		if in.Source != "" && slices.Contains(s.o.Private, in.Source) {
			continue
		}
		name := s.o.Names.CheckWithID(in.Check)
		switch {
		case in.Title != "":
			name = in.Title
			if in.End.IsZero() {
				// A source's alert that fires is the shop's trouble too.
				data.AllUp = false
				down++
			}
		case only != "":
			name = s.checkName(in.Check) // the heading names the merchant
		}
		iv := map[string]any{"ID": in.ID, "Name": name, "Start": in.Start, "End": in.End,
			"Down": in.Duration, "AckBy": in.AckBy}
		if in.End.IsZero() {
			data.Open = append(data.Open, s.word("page.open_incident", iv))
			continue
		}
		if len(data.Recent) < 10 {
			data.Recent = append(data.Recent, s.word("page.recent_incident", iv))
		}
	}
	data.Banner = s.word("page.banner", map[string]int{"Down": down})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusTemplate.Execute(w, data); err != nil {
		http.Error(w, "the page could not be drawn", http.StatusInternalServerError)
	}
}

// shownChecks lists the merchants the page shows, in the config's order,
// with their checks: every shown merchant's, or only's.
func (s *status) shownChecks(only string) ([]string, map[string][]monitor.Status) {
	merchants := []string{} // never nil, which would mean all
	checksOf := map[string][]monitor.Status{}
	for _, st := range s.o.Record.Statuses() {
		m := merchantOf(st.Check.ID)
		if !s.shown(m) || (only != "" && m != only) {
			continue
		}
		if _, seen := checksOf[m]; !seen {
			merchants = append(merchants, m)
		}
		checksOf[m] = append(checksOf[m], st)
	}
	return merchants, checksOf
}

// downFirst orders what is down before what is not.
func downFirst(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// checkView is one check's line: its state, its uptime over the bar's
// days and the bar. A check never probed has no figure and a grey bar,
// whatever else the record holds; one down now is red today.
func (s *status) checkView(r *http.Request, st monitor.Status, fig report.Check, incidents []report.Incident, now time.Time) checkView {
	state := st.State.State
	probed := !st.LastAt.IsZero() || !st.State.First.IsZero() || !st.State.Probed.IsZero() || state != store.Unknown
	shown := string(state)
	if state == store.Unknown && probed {
		shown = "pending" // probed, not yet down or up
	}
	cv := checkView{ID: strings.TrimPrefix(st.Check.ID, merchantOf(st.Check.ID)+"/"), Name: s.checkName(st.Check.ID),
		State: string(state), StateText: s.word("page.state", shown), Uptime: s.word("page.uptime", "")}
	if probed && !fig.Since.IsZero() {
		cv.Uptime = s.word("page.uptime", report.Percent(fig.Uptime))
	}
	if !st.State.Since.IsZero() {
		cv.Since = s.word("page.since", st.State.Since)
	}
	if state == store.Down && s.o.ShowErrors {
		cv.Error = st.Last.Error
	}
	cv.Days = s.days(r, st, incidents, now, probed)
	for _, seen := range st.Seen {
		wv := whereView{Location: seen.Location, State: string(seen.State), Text: s.word("page.state", string(seen.State))}
		if seen.Cut {
			wv.State, wv.Text = "cut", s.word("page.cut_off", nil)
		}
		cv.Where = append(cv.Where, wv)
	}
	return cv
}

// checkName is a check's own name under its merchant's: its display name,
// or its id's part after the merchant's.
func (s *status) checkName(id string) string {
	if n, ok := s.o.Names[id]; ok {
		return n
	}
	return strings.TrimPrefix(id, merchantOf(id)+"/")
}

// outages are the banners of the providers that look down, of those with
// a check on the page.
func (s *status) outages(r *http.Request, shown map[string]bool) []string {
	if s.o.Outages == nil {
		return nil
	}
	outages, err := s.o.Outages(r.Context())
	if err != nil {
		s.log.Warn("status page: providers' outages cannot be read", "err", err)
		return nil
	}
	var out []string
	for _, o := range outages {
		if slices.ContainsFunc(o.Checks, func(c string) bool { return shown[c] }) {
			out = append(out, s.word("page.provider", o))
		}
	}
	return out
}

// days is a check's uptime bar: one cell per day, oldest first, by the
// downtime of its incidents that day; days with no probe are blank, and so
// is every day of a check never probed. A check down now is red today,
// whatever the record says: its incident may be in maintenance, or not
// yet read.
func (s *status) days(r *http.Request, st monitor.Status, incidents []report.Incident, now time.Time, probed bool) []dayView {
	loc := s.o.Location
	first := now.In(loc).AddDate(0, 0, -barDays+1)
	first = time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc)
	today := first.AddDate(0, 0, barDays-1)
	out := make([]dayView, barDays)
	if !probed {
		for d := range barDays {
			out[d] = s.day(first.AddDate(0, 0, d), "none", 0)
		}
		return out
	}
	down := make([]time.Duration, barDays)
	for _, in := range incidents {
		if in.Downtime == 0 {
			continue // planned: all in maintenance
		}
		end := in.End
		if end.IsZero() {
			end = now
		}
		for d := range barDays {
			from := first.AddDate(0, 0, d)
			to := from.AddDate(0, 0, 1)
			if a, b := later(in.Start, from), earlier(end, to); a.Before(b) {
				down[d] += b.Sub(a)
			}
		}
	}
	seen := make([]bool, barDays)
	stats, _ := s.o.Record.Stats(r.Context(), st.Check.ID, first, now)
	for _, stat := range stats {
		if d := int(stat.Period.In(loc).Sub(first) / (24 * time.Hour)); d >= 0 && d < barDays {
			seen[d] = true
		}
	}
	last := st.LastAt
	if last.IsZero() {
		last = st.State.Probed // another instance probes it
	}
	seen[barDays-1] = seen[barDays-1] || !last.Before(today)
	for d := range barDays {
		class := "major"
		switch {
		case d == barDays-1 && st.State.State == store.Down:
			down[d] = max(down[d], now.Sub(later(st.State.Since, today)))
		case down[d] == 0 && !seen[d]:
			class = "none"
		case down[d] == 0:
			class = "up"
		case down[d] < 15*time.Minute:
			class = "minor"
		}
		out[d] = s.day(first.AddDate(0, 0, d), class, down[d])
	}
	return out
}

// day is one cell of the bar.
func (s *status) day(date time.Time, class string, down time.Duration) dayView {
	return dayView{Class: class, Title: s.word("page.day", map[string]any{"Date": date, "Class": class, "Down": down})}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
