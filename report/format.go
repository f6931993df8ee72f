package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

// Exact renders a duration to the second: 3h12m30s.
func Exact(d time.Duration) string {
	return d.Round(time.Second).String()
}

// Percent renders an uptime with three decimals: 99.554%.
func Percent(uptime float64) string {
	return strconv.FormatFloat(uptime, 'f', 3, 64) + "%"
}

// Uptime renders a check's uptime, or "no data" for a check the record
// has no probe of in the period.
func Uptime(c Check) string {
	if c.Since.IsZero() {
		return "no data"
	}
	return Percent(c.Uptime)
}

const stamp = "2006-01-02 15:04:05"

func at(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(stamp)
}

// Text writes the report for people: the figures per check, then every
// incident with its timeline and errors, then the maintenance windows.
func (r *Report) Text(w io.Writer, loc *time.Location) error {
	fmt.Fprintf(w, "hostwatch report %s: %s to %s %s\n\n", r.Period.Label, at(r.Period.From, loc), at(r.Until, loc), r.Until.In(loc).Format("MST"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tUPTIME\tDOWNTIME\tINCIDENTS\tLONGEST\tMTTA\tMTTR\tIN MAINTENANCE")
	dash := func(d time.Duration) string {
		if d == 0 {
			return "-"
		}
		return Exact(d)
	}
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", c.Check, Uptime(c), Exact(c.Downtime), c.Incidents,
			dash(c.Longest), dash(c.MTTA), dash(c.MTTR), dash(c.Maintenance))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Incidents) > 0 {
		fmt.Fprintln(w, "\nINCIDENTS")
	}
	for _, in := range r.Incidents {
		end := "still open"
		if !in.End.IsZero() {
			end = at(in.End, loc)
		}
		fmt.Fprintf(w, "#%d %s: %s to %s, %s", in.ID, in.Check, at(in.Start, loc), end, Exact(in.Duration))
		if in.Maintenance > 0 {
			fmt.Fprintf(w, " (%s of it in maintenance)", Exact(in.Maintenance))
		}
		fmt.Fprintln(w)
		var facts []string
		if !in.Alerted.IsZero() {
			facts = append(facts, "alerted "+at(in.Alerted, loc))
		}
		if !in.AckAt.IsZero() {
			facts = append(facts, fmt.Sprintf("acknowledged by %s %s", in.AckBy, at(in.AckAt, loc)))
		}
		if in.ResolvedBy != "" && in.ResolvedBy != "recovery" {
			facts = append(facts, "closed by "+in.ResolvedBy)
		}
		if len(facts) > 0 {
			fmt.Fprintf(w, "    %s\n", strings.Join(facts, ", "))
		}
		for _, e := range in.Errors {
			fmt.Fprintf(w, "    %s ×%d: first %s %q, last %s %q\n", e.Kind, e.Count, at(e.First, loc), e.FirstError, at(e.Last, loc), e.LastError)
		}
	}
	if len(r.Maintenance) > 0 {
		fmt.Fprintln(w, "\nMAINTENANCE (left out of the downtime)")
	}
	for _, m := range r.Maintenance {
		fmt.Fprintf(w, "%s: %s to %s, %s\n", m.Name, at(m.Start, loc), at(m.End, loc), strings.Join(m.Targets, ", "))
	}
	return nil
}

// CSVHeader is the first row of the CSV: one row per incident follows.
var CSVHeader = []string{"incident", "check", "start", "first_alert", "acknowledged_at", "acknowledged_by",
	"end", "resolved_by", "duration_seconds", "downtime_seconds", "maintenance_seconds", "errors"}

// handle is a Telegram username, safe in a spreadsheet as it is.
var handle = regexp.MustCompile(`^@[A-Za-z0-9_]+$`)

// inert keeps a spreadsheet from reading text as a formula: a cell that
// starts with = + - @ (but is no bare @username) gets a leading apostrophe.
func inert(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) && !handle.MatchString(s) {
		return "'" + s
	}
	return s
}

// HideErrors blanks the errors' text, for readers who may see figures
// but not what the probes saw (internal addresses).
func (r *Report) HideErrors() {
	for i := range r.Incidents {
		errs := append([]store.ErrorSummary(nil), r.Incidents[i].Errors...)
		for j := range errs {
			errs[j].FirstError, errs[j].LastError = "", ""
		}
		r.Incidents[i].Errors = errs
	}
}

// CSV writes one row per incident, with a header row, times in loc.
func (r *Report) CSV(w io.Writer, loc *time.Location) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	secs := func(d time.Duration) string { return strconv.FormatInt(int64(d.Round(time.Second)/time.Second), 10) }
	for _, in := range r.Incidents {
		var errs []string
		for _, e := range in.Errors {
			if e.FirstError == "" {
				errs = append(errs, fmt.Sprintf("%s x%d", e.Kind, e.Count))
				continue
			}
			errs = append(errs, fmt.Sprintf("%s x%d: %s", e.Kind, e.Count, e.FirstError))
		}
		cw.Write([]string{strconv.FormatInt(in.ID, 10), in.Check, at(in.Start, loc), at(in.Alerted, loc), at(in.AckAt, loc),
			inert(in.AckBy), at(in.End, loc), inert(in.ResolvedBy), secs(in.Duration), secs(in.Downtime), secs(in.Maintenance),
			inert(strings.Join(errs, "; "))})
	}
	cw.Flush()
	return cw.Error()
}

// JSON shapes of a report.
type (
	jsonReport struct {
		From        time.Time      `json:"from"`
		To          time.Time      `json:"to"`
		Until       time.Time      `json:"until"`
		Period      string         `json:"period"`
		Checks      []jsonCheck    `json:"checks"`
		Incidents   []jsonIncident `json:"incidents"`
		Maintenance []jsonWindow   `json:"maintenance"`
	}
	jsonCheck struct {
		Check              string     `json:"check"`
		Since              *time.Time `json:"since"`
		UptimePercent      *float64   `json:"uptime_percent"`
		DowntimeSeconds    int64      `json:"downtime_seconds"`
		MaintenanceSeconds int64      `json:"maintenance_seconds"`
		Incidents          int        `json:"incidents"`
		LongestSeconds     int64      `json:"longest_seconds"`
		MTTASeconds        *int64     `json:"mtta_seconds"`
		MTTRSeconds        *int64     `json:"mttr_seconds"`
	}
	jsonIncident struct {
		ID                 int64       `json:"id"`
		Check              string      `json:"check"`
		Start              time.Time   `json:"start"`
		FirstAlert         *time.Time  `json:"first_alert"`
		AcknowledgedAt     *time.Time  `json:"acknowledged_at"`
		AcknowledgedBy     string      `json:"acknowledged_by,omitempty"`
		End                *time.Time  `json:"end"`
		ResolvedBy         string      `json:"resolved_by,omitempty"`
		DurationSeconds    int64       `json:"duration_seconds"`
		DowntimeSeconds    int64       `json:"downtime_seconds"`
		MaintenanceSeconds int64       `json:"maintenance_seconds"`
		Errors             []jsonError `json:"errors"`
	}
	jsonError struct {
		Kind       string    `json:"kind"`
		Count      int       `json:"count"`
		First      time.Time `json:"first"`
		FirstError string    `json:"first_error"`
		Last       time.Time `json:"last"`
		LastError  string    `json:"last_error"`
	}
	jsonWindow struct {
		Name    string    `json:"name"`
		Start   time.Time `json:"start"`
		End     time.Time `json:"end"`
		Targets []string  `json:"targets"`
	}
)

// JSON writes the report as one JSON object, times in loc.
func (r *Report) JSON(w io.Writer, loc *time.Location) error {
	secs := func(d time.Duration) int64 { return int64(d.Round(time.Second) / time.Second) }
	opt := func(d time.Duration) *int64 {
		if d == 0 {
			return nil
		}
		s := secs(d)
		return &s
	}
	when := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.In(loc)
		return &t
	}
	out := jsonReport{From: r.Period.From.In(loc), To: r.Period.To.In(loc), Until: r.Until.In(loc), Period: r.Period.Label,
		Checks: []jsonCheck{}, Incidents: []jsonIncident{}, Maintenance: []jsonWindow{}}
	for _, c := range r.Checks {
		var uptime *float64
		if !c.Since.IsZero() {
			u := math.Round(c.Uptime*1000) / 1000
			uptime = &u
		}
		out.Checks = append(out.Checks, jsonCheck{Check: c.Check, Since: when(c.Since), UptimePercent: uptime,
			DowntimeSeconds: secs(c.Downtime), MaintenanceSeconds: secs(c.Maintenance), Incidents: c.Incidents,
			LongestSeconds: secs(c.Longest), MTTASeconds: opt(c.MTTA), MTTRSeconds: opt(c.MTTR)})
	}
	for _, in := range r.Incidents {
		ji := jsonIncident{ID: in.ID, Check: in.Check, Start: in.Start.In(loc), FirstAlert: when(in.Alerted),
			AcknowledgedAt: when(in.AckAt), AcknowledgedBy: in.AckBy, End: when(in.End), ResolvedBy: in.ResolvedBy,
			DurationSeconds: secs(in.Duration), DowntimeSeconds: secs(in.Downtime), MaintenanceSeconds: secs(in.Maintenance),
			Errors: []jsonError{}}
		for _, e := range in.Errors {
			ji.Errors = append(ji.Errors, jsonError{Kind: e.Kind, Count: e.Count, First: e.First.In(loc), FirstError: e.FirstError,
				Last: e.Last.In(loc), LastError: e.LastError})
		}
		out.Incidents = append(out.Incidents, ji)
	}
	for _, m := range r.Maintenance {
		out.Maintenance = append(out.Maintenance, jsonWindow{Name: m.Name, Start: m.Start.In(loc), End: m.End.In(loc), Targets: m.Targets})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// Summary is a few lines for a chat: the period, then per check its uptime
// and downtime.
func (r *Report) Summary(loc *time.Location) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Report %s: %s to %s\n", r.Period.Label, r.Period.From.In(loc).Format("Jan 2 15:04"), r.Until.In(loc).Format("Jan 2 15:04 MST"))
	for _, c := range r.Checks {
		if c.Since.IsZero() {
			fmt.Fprintf(&b, "%s: no probe in this period\n", c.Check)
			continue
		}
		fmt.Fprintf(&b, "%s %s up, down %s", c.Check, Percent(c.Uptime), Exact(c.Downtime))
		if c.Incidents > 0 {
			fmt.Fprintf(&b, " in %d incident(s), longest %s", c.Incidents, Exact(c.Longest))
		}
		if c.Maintenance > 0 {
			fmt.Fprintf(&b, " (+%s in maintenance)", Exact(c.Maintenance))
		}
		b.WriteString("\n")
	}
	if len(r.Checks) == 0 {
		b.WriteString("No checks.\n")
	}
	return strings.TrimSpace(b.String())
}
