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

// CSVOptions shape the CSV for its reader.
type CSVOptions struct {
	// BOM starts the file with a UTF-8 byte-order mark, without which
	// Excel in a Korean locale reads UTF-8 as mojibake.
	BOM bool
	// Header replaces CSVHeader, in the reader's language; it must have
	// as many columns.
	Header []string
}

// CSV writes one row per incident, with a header row, times in loc.
func (r *Report) CSV(w io.Writer, loc *time.Location, o CSVOptions) error {
	if o.BOM {
		if _, err := io.WriteString(w, "\uFEFF"); err != nil {
			return err
		}
	}
	header := CSVHeader
	if len(o.Header) == len(CSVHeader) {
		header = o.Header
	}
	cw := csv.NewWriter(w)
	cw.Write(header)
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
		Source             string      `json:"source,omitempty"`
		Title              string      `json:"title,omitempty"`
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
		ji := jsonIncident{ID: in.ID, Check: in.Check, Source: in.Source, Title: in.Title, Start: in.Start.In(loc), FirstAlert: when(in.Alerted),
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
