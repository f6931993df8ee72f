package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hostwatch/hostwatch/locale"
)

// Words put a report into a reader's language.
type Words struct {
	Templates *locale.Templates
	Lang      locale.Lang
	Names     locale.Names
}

// view is a report as the templates see it.
type view struct {
	Label       string
	From, Until time.Time
	Checks      []viewCheck
	Incidents   []viewIncident
	Maintenance []viewWindow
}

type viewCheck struct {
	Name   string
	Probed bool
	// Uptime is the percentage with three decimals, as in the CSV.
	Uptime                                     string
	Downtime, Longest, MTTA, MTTR, Maintenance time.Duration
	Incidents                                  int
}

type viewIncident struct {
	ID                         int64
	Name                       string
	Start, End, Alerted, AckAt time.Time
	Duration, Maintenance      time.Duration
	AckBy, ClosedBy            string
	Errors                     []viewError
}

type viewError struct {
	Kind                  string
	Count                 int
	First, Last           time.Time
	FirstError, LastError string
}

type viewWindow struct {
	Name       string
	Start, End time.Time
	Targets    string
}

func (w Words) view(r *Report) view {
	v := view{Label: r.Period.Label, From: r.Period.From, Until: r.Until}
	for _, c := range r.Checks {
		v.Checks = append(v.Checks, viewCheck{Name: w.Names.CheckWithID(c.Check), Probed: !c.Since.IsZero(), Uptime: Percent(c.Uptime),
			Downtime: c.Downtime, Longest: c.Longest, MTTA: c.MTTA, MTTR: c.MTTR, Maintenance: c.Maintenance, Incidents: c.Incidents})
	}
	for _, in := range r.Incidents {
		name := w.Names.CheckWithID(in.Check)
		if in.Title != "" {
			name = in.Title
		}
		vi := viewIncident{ID: in.ID, Name: name, Start: in.Start, End: in.End, Alerted: in.Alerted,
			AckAt: in.AckAt, AckBy: in.AckBy, Duration: in.Duration, Maintenance: in.Maintenance}
		if in.ResolvedBy != "recovery" {
			vi.ClosedBy = in.ResolvedBy
		}
		for _, e := range in.Errors {
			vi.Errors = append(vi.Errors, viewError{Kind: e.Kind, Count: e.Count, First: e.First, Last: e.Last,
				FirstError: e.FirstError, LastError: e.LastError})
		}
		v.Incidents = append(v.Incidents, vi)
	}
	for _, m := range r.Maintenance {
		v.Maintenance = append(v.Maintenance, viewWindow{Name: m.Name, Start: m.Start, End: m.End, Targets: strings.Join(m.Targets, ", ")})
	}
	return v
}

// Summary is a few lines for a chat: the period, then per check its
// uptime, downtime, incidents and longest outage.
func (w Words) Summary(r *Report) (string, error) {
	s, err := w.Templates.Exec(w.Lang, "report.summary", w.view(r))
	return strings.TrimSpace(s), err
}

// Text writes the report for people: the figures per check in columns,
// then every incident with its timeline and errors, then the maintenance
// windows.
func (w Words) Text(out io.Writer, r *Report) error {
	s, err := w.Templates.Exec(w.Lang, "report.text", w.view(r))
	if err != nil && s == "" {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	if _, err := io.WriteString(tw, s); err != nil {
		return err
	}
	return tw.Flush()
}

// CSV writes the CSV for the reader: its header in their language, and
// with a byte-order mark for Korean, for Excel.
func (w Words) CSV(out io.Writer, r *Report, bom bool) error {
	header, err := w.Templates.Exec(w.Lang, "report.csv_header", nil)
	if err != nil {
		return fmt.Errorf("report header: %w", err)
	}
	return r.CSV(out, w.Templates.Location(), CSVOptions{BOM: bom || w.Lang == locale.Korean, Header: strings.Split(strings.TrimSpace(header), ",")})
}
