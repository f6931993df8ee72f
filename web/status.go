package web

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/report"
	"github.com/hostwatch/hostwatch/store"
)

//go:embed status.html
var pages embed.FS

var statusTemplate = template.Must(template.New("status.html").ParseFS(pages, "status.html"))

// barDays is how many days the uptime bar shows.
const barDays = 90

type pageData struct {
	Title     string
	Heading   string
	Back      bool
	Now       string
	AllUp     bool
	Down      int
	Merchants []merchantView
	Open      []incidentView
	Recent    []incidentView
	Token     string // carried in links when the page is not public
}

type merchantView struct {
	Name   string
	Link   string
	Checks []checkView
}

type checkView struct {
	Name   string
	State  string // up, down, unknown
	Since  string
	Uptime string
	Days   []dayView
	Error  string
}

type dayView struct {
	Class string // up, minor, major, none
	Title string
}

type incidentView struct {
	ID       int64
	Check    string
	Start    string
	Span     string
	Open     bool
	AckBy    string
	Downtime string
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
	data := pageData{Title: s.o.Title, Heading: s.o.Title, Back: only != "", Now: now.In(loc).Format("Jan 2 15:04 MST"), AllUp: true}
	if !s.o.Public && r.URL.Query().Get("token") != "" {
		data.Token = s.o.Token // carried in links only when it came in one
	}
	if only != "" {
		data.Heading = only
	}
	first := now.In(loc).AddDate(0, 0, -barDays+1)
	first = time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc)
	for _, m := range merchants {
		mv := merchantView{Name: m, Link: "/m/" + m}
		for _, st := range checksOf[m] {
			cv := checkView{Name: strings.TrimPrefix(st.Check.ID, m+"/"), State: string(st.State.State),
				Uptime: report.Uptime(uptime[st.Check.ID])}
			if !st.State.Since.IsZero() {
				cv.Since = st.State.Since.In(loc).Format("Jan 2 15:04")
			}
			if st.State.State == store.Down {
				data.AllUp = false
				data.Down++
				if s.o.ShowErrors {
					cv.Error = st.Last.Error
				}
			}
			cv.Days = s.days(r, st.Check.ID, incidentsOf[st.Check.ID], first, now, !st.LastAt.IsZero())
			mv.Checks = append(mv.Checks, cv)
		}
		data.Merchants = append(data.Merchants, mv)
	}
	for i := len(rep.Incidents) - 1; i >= 0; i-- {
		in := rep.Incidents[i]
		iv := incidentView{ID: in.ID, Check: in.Check, Start: in.Start.In(loc).Format("Jan 2 15:04"), Open: in.End.IsZero(),
			AckBy: in.AckBy, Downtime: notifier.Duration(in.Duration)}
		if iv.Open {
			data.Open = append(data.Open, iv)
			continue
		}
		iv.Span = notifier.Span(in.Start, in.End, loc)
		if len(data.Recent) < 10 {
			data.Recent = append(data.Recent, iv)
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
		date := first.AddDate(0, 0, d).Format("Jan 2")
		switch {
		case down[d] == 0 && !seen[d]:
			out[d] = dayView{Class: "none", Title: date + ": no data"}
		case down[d] == 0:
			out[d] = dayView{Class: "up", Title: date + ": no downtime"}
		case down[d] < 15*time.Minute:
			out[d] = dayView{Class: "minor", Title: date + ": down " + notifier.Duration(down[d])}
		default:
			out[d] = dayView{Class: "major", Title: date + ": down " + notifier.Duration(down[d])}
		}
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
