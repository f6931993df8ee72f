package web

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
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
	Lang      string
	Title     string
	Heading   string
	Back      bool
	AllUp     bool
	Merchants []merchantView
	Open      []string
	Recent    []string
	Token     string // carried in links when the page is not public
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
}

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
	loc, now := s.o.Location, s.now()
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
	rep, err := s.o.Record.Report(r.Context(), merchants, fmt.Sprintf("%dd", barDays))
	if err != nil {
		http.Error(w, "the record cannot be read just now", http.StatusServiceUnavailable)
		return
	}
	uptime := map[string]report.Check{}
	for _, c := range rep.Checks {
		uptime[c.Check] = c
	}
	incidentsOf := map[string][]report.Incident{}
	for _, in := range rep.Incidents {
		incidentsOf[in.Check] = append(incidentsOf[in.Check], in)
	}
	data := pageData{Lang: string(s.o.Lang.Or(locale.English)), Title: s.o.Title, Heading: s.o.Title, Back: only != "", AllUp: true,
		Bar: s.word("page.bar", nil), DaysAgo: s.word("page.days_ago", nil), Today: s.word("page.today", nil),
		OpenHeading: s.word("page.open", nil), RecentHeading: s.word("page.recent", nil), Footer: s.word("page.footer", now)}
	if !s.o.Public && r.URL.Query().Get("token") != "" {
		data.Token = s.o.Token // carried in links only when it came in one
	}
	if only != "" {
		data.Heading = s.o.Names.Merchant(only)
	}
	down := 0
	first := now.In(loc).AddDate(0, 0, -barDays+1)
	first = time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc)
	for _, m := range merchants {
		mv := merchantView{ID: m, Name: s.o.Names.Merchant(m), Link: "/m/" + m}
		for _, st := range checksOf[m] {
			name := strings.TrimPrefix(st.Check.ID, m+"/")
			cv := checkView{ID: name, Name: name, State: string(st.State.State), StateText: s.word("page.state", string(st.State.State))}
			if n, ok := s.o.Names[st.Check.ID]; ok {
				cv.Name = n
			}
			if c := uptime[st.Check.ID]; !c.Since.IsZero() {
				cv.Uptime = s.word("page.uptime", report.Percent(c.Uptime))
			} else {
				cv.Uptime = s.word("page.uptime", "")
			}
			if !st.State.Since.IsZero() {
				cv.Since = s.word("page.since", st.State.Since)
			}
			if st.State.State == store.Down {
				data.AllUp = false
				down++
				if s.o.ShowErrors {
					cv.Error = st.Last.Error
				}
			}
			cv.Days = s.days(r, st.Check.ID, incidentsOf[st.Check.ID], first, now, !st.LastAt.IsZero())
			mv.Checks = append(mv.Checks, cv)
		}
		data.Merchants = append(data.Merchants, mv)
	}
	data.Banner = s.word("page.banner", map[string]int{"Down": down})
	for i := len(rep.Incidents) - 1; i >= 0; i-- {
		in := rep.Incidents[i]
		iv := map[string]any{"ID": in.ID, "Name": s.o.Names.CheckWithID(in.Check), "Start": in.Start, "End": in.End,
			"Down": in.Duration, "AckBy": in.AckBy}
		if in.End.IsZero() {
			data.Open = append(data.Open, s.word("page.open_incident", iv))
			continue
		}
		if len(data.Recent) < 10 {
			data.Recent = append(data.Recent, s.word("page.recent_incident", iv))
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusTemplate.Execute(w, data); err != nil {
		http.Error(w, "the page could not be drawn", http.StatusInternalServerError)
	}
}

// days is a check's uptime bar: one cell per day, oldest first, by the
// downtime of its incidents that day; days with no probe are blank.
func (s *status) days(r *http.Request, check string, incidents []report.Incident, first, now time.Time, probed bool) []dayView {
	loc := s.o.Location
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
	stats, _ := s.o.Record.Stats(r.Context(), check, first, now)
	for _, st := range stats {
		if d := int(st.Period.In(loc).Sub(first) / (24 * time.Hour)); d >= 0 && d < barDays {
			seen[d] = true
		}
	}
	seen[barDays-1] = seen[barDays-1] || probed
	out := make([]dayView, barDays)
	for d := range barDays {
		class := "major"
		switch {
		case down[d] == 0 && !seen[d]:
			class = "none"
		case down[d] == 0:
			class = "up"
		case down[d] < 15*time.Minute:
			class = "minor"
		}
		out[d] = dayView{Class: class, Title: s.word("page.day", map[string]any{"Date": first.AddDate(0, 0, d), "Class": class, "Down": down[d]})}
	}
	return out
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
