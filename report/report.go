// Package report computes the outage record's figures over a period: per
// check its uptime, downtime, incidents, longest outage and mean times to
// acknowledge and to resolve; per incident its timeline and errors. Time in
// maintenance windows is left out of the downtime and listed apart.
package report

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/source"
	"github.com/hostwatch/hostwatch/store"
)

// Period is a span of time a report covers: [From, To).
type Period struct {
	From, To time.Time
	// Label is how the period was asked for: "30d", "2026-11".
	Label string
}

// ErrPeriod is returned for a period that cannot be read.
var ErrPeriod = errors.New("a period is a number of days or hours (30d, 24h) or a month (2026-11)")

// ParsePeriod reads a period as people write it: "30d" or "12h" back from
// now, or a month "2026-11" in loc. Empty is the last 30 days.
func ParsePeriod(s string, now time.Time, loc *time.Location) (Period, error) {
	if s == "" {
		s = "30d"
	}
	if loc == nil {
		loc = time.UTC
	}
	if month, err := time.ParseInLocation("2006-01", s, loc); err == nil {
		if month.Year() < 2000 || month.After(now) {
			return Period{}, fmt.Errorf("%q is not a month of the record: %w", s, ErrPeriod)
		}
		return Period{From: month, To: month.AddDate(0, 1, 0), Label: s}, nil
	}
	unit := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		unit = 24 * time.Hour
	case strings.HasSuffix(s, "h"):
		unit = time.Hour
	default:
		return Period{}, fmt.Errorf("%q: %w", s, ErrPeriod)
	}
	now = now.Truncate(time.Second)
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 || n > 3660*24 || (unit == 24*time.Hour && n > 3660) {
		return Period{}, fmt.Errorf("%q: %w", s, ErrPeriod)
	}
	return Period{From: now.Add(-time.Duration(n) * unit), To: now, Label: s}, nil
}

// Report is the record over one period.
type Report struct {
	Period Period
	// Until is when the figures stop: the period's end, or now for a
	// period not over yet.
	Until       time.Time
	Checks      []Check
	Incidents   []Incident
	Maintenance []store.Window
}

// Check is one check's figures.
type Check struct {
	Check string
	// Since is when the figures start: the period's start, or the
	// check's first probe when it came later. Zero when the record has
	// no probe of the check in the period: then Uptime means nothing.
	Since time.Time
	// Uptime is the share of the period the check was not down outside
	// maintenance, in percent, cut to three decimals.
	Uptime float64
	// Downtime is the time down in the period, maintenance left out;
	// Maintenance the time down during maintenance windows.
	Downtime    time.Duration
	Maintenance time.Duration
	Incidents   int
	Longest     time.Duration
	// MTTA and MTTR are the mean times from start to first
	// acknowledgement and to end, over the incidents that had one; zero
	// when none had.
	MTTA, MTTR time.Duration
}

// Incident is one incident's line in a report.
type Incident struct {
	ID    int64
	Check string
	// Source and Title name an alert a source reported; empty for a
	// configured check.
	Source, Title string
	Start         time.Time
	Alerted       time.Time // first message delivered; zero if none was
	AckAt         time.Time // first acknowledgement
	AckBy         string
	End           time.Time // zero while open
	ResolvedBy    string
	// Duration is the whole outage (to now while open); Downtime its part
	// in the period outside maintenance, Maintenance its part inside.
	Duration    time.Duration
	Downtime    time.Duration
	Maintenance time.Duration
	Errors      []store.ErrorSummary
}

// Source is what a report reads.
type Source interface {
	Incidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error)
	Windows(ctx context.Context, from, to time.Time) ([]store.Window, error)
}

// origins is a Source that knows what the sources said of their alerts,
// so that a report lists those of its merchants too.
type origins interface {
	Origins(ctx context.Context) (map[string]store.Origin, error)
}

// firstSeen is a Source that knows when each check was first probed, so
// that a check added during the period is measured from then.
type firstSeen interface {
	FirstSeen(ctx context.Context) (map[string]time.Time, error)
}

// Build computes the report of checks (merchant/check names, in the order
// to list them) over p. covers says whether a maintenance target covers a
// check.
func Build(ctx context.Context, src Source, checks []string, p Period, now time.Time, covers func(target, check string) bool) (*Report, error) {
	return build(ctx, src, nil, checks, p, now, covers)
}

// build is Build, for the merchants of checks and those of merchants too:
// a merchant with no check of its own may have alerts of sources.
func build(ctx context.Context, src Source, merchants, checks []string, p Period, now time.Time, covers func(target, check string) bool) (*Report, error) {
	r := &Report{Period: p, Until: p.To}
	if now.Before(r.Until) {
		r.Until = now
	}
	windows, err := src.Windows(ctx, p.From, r.Until)
	if err != nil {
		return nil, err
	}
	windowsOf := map[string][]store.Window{}
	for _, w := range windows {
		// Listed with the targets the report is about, and no others.
		var shown []string
		for _, c := range checks {
			if slices.ContainsFunc(w.Targets, func(t string) bool { return covers(t, c) }) {
				windowsOf[c] = append(windowsOf[c], w)
			}
		}
		for _, t := range w.Targets {
			if slices.ContainsFunc(checks, func(c string) bool { return covers(t, c) }) {
				shown = append(shown, t)
			}
		}
		if len(shown) > 0 {
			w.Targets = shown
			r.Maintenance = append(r.Maintenance, w)
		}
	}
	merchants = append([]string{}, merchants...)
	for _, c := range checks {
		if m, _, _ := strings.Cut(c, "/"); !slices.Contains(merchants, m) {
			merchants = append(merchants, m)
		}
	}
	all, err := src.Incidents(ctx, store.IncidentFilter{Since: p.From, Merchants: merchants})
	if err != nil {
		return nil, err
	}
	byCheck := map[string][]store.Incident{}
	for _, in := range all {
		// Open at some time in [From, Until): one that ended at From
		// exactly is the period before's.
		if in.Start.Before(r.Until) && (in.End.IsZero() || in.End.After(p.From)) {
			byCheck[in.Check] = append(byCheck[in.Check], in)
		}
	}
	var first map[string]time.Time
	if fs, ok := src.(firstSeen); ok {
		if first, err = fs.FirstSeen(ctx); err != nil {
			return nil, err
		}
	}
	for _, c := range checks {
		fig := Check{Check: c, Uptime: 100, Since: p.From}
		var acked, resolved int
		var ackSum, resolveSum time.Duration
		ins := byCheck[c]
		slices.SortFunc(ins, func(a, b store.Incident) int { return a.Start.Compare(b.Start) })
		if first != nil {
			seen := first[c]
			if len(ins) > 0 && (seen.IsZero() || ins[0].Start.Before(seen)) {
				seen = ins[0].Start
			}
			switch {
			case seen.IsZero() || !seen.Before(r.Until):
				fig.Since = time.Time{}
			case seen.After(p.From):
				fig.Since = seen
			}
		}
		for _, in := range ins {
			row := r.row(in, windowsOf[c], now)
			r.Incidents = append(r.Incidents, row)
			fig.Downtime += row.Downtime
			fig.Maintenance += row.Maintenance
			if row.Downtime == 0 && row.Maintenance > 0 {
				continue // planned: listed, not counted as an outage
			}
			fig.Incidents++
			fig.Longest = max(fig.Longest, row.Duration)
			if !in.FirstAckAt.IsZero() {
				acked++
				ackSum += in.FirstAckAt.Sub(in.Start)
			}
			if !in.End.IsZero() {
				resolved++
				resolveSum += in.End.Sub(in.Start)
			}
		}
		if length := r.Until.Sub(fig.Since); !fig.Since.IsZero() && length > 0 {
			// Cut, not rounded, to three decimals: a second down in a
			// month is 99.999%, never 100.000%.
			fig.Uptime = math.Floor(100000*(1-float64(fig.Downtime)/float64(length))) / 1000
		}
		if acked > 0 {
			fig.MTTA = ackSum / time.Duration(acked)
		}
		if resolved > 0 {
			fig.MTTR = resolveSum / time.Duration(resolved)
		}
		r.Checks = append(r.Checks, fig)
	}
	if err := r.addAlerts(ctx, src, byCheck, windows, now, covers); err != nil {
		return nil, err
	}
	slices.SortStableFunc(r.Incidents, func(a, b Incident) int { return a.Start.Compare(b.Start) })
	return r, nil
}

// addAlerts lists the incidents of the alerts sources reported among
// byCheck's, named as their source named them. They have no figures of
// their own: an alert is a check only while it fires.
func (r *Report) addAlerts(ctx context.Context, src Source, byCheck map[string][]store.Incident, windows []store.Window, now time.Time,
	covers func(target, check string) bool) error {
	os, ok := src.(origins)
	if !ok {
		return nil
	}
	var known map[string]store.Origin
	for c, ins := range byCheck {
		if source.SourceOf(c) == "" {
			continue
		}
		if known == nil {
			var err error
			if known, err = os.Origins(ctx); err != nil {
				return err
			}
		}
		o, ok := known[c]
		if !ok {
			continue
		}
		var ws []store.Window
		for _, w := range windows {
			if slices.ContainsFunc(w.Targets, func(t string) bool { return covers(t, c) }) {
				ws = append(ws, w)
			}
		}
		for _, in := range ins {
			row := r.row(in, ws, now)
			row.Source, row.Title = o.Source, o.Title
			r.Incidents = append(r.Incidents, row)
		}
	}
	return nil
}

// row is incident in's line: its whole duration (to now while open),
// and its part in the report's period outside and inside windows.
func (r *Report) row(in store.Incident, windows []store.Window, now time.Time) Incident {
	end := in.End
	if end.IsZero() {
		end = now
	}
	from, to := maxTime(in.Start, r.Period.From), minTime(end, r.Until)
	inMaint := overlap(from, to, windows)
	return Incident{ID: in.ID, Check: in.Check, Start: in.Start, Alerted: in.Alerted, AckAt: in.FirstAckAt, AckBy: in.FirstAckBy,
		End: in.End, ResolvedBy: in.ResolvedBy, Duration: end.Sub(in.Start),
		Downtime: max(to.Sub(from)-inMaint, 0), Maintenance: inMaint, Errors: in.Errors}
}

// overlap is how much of [from, to) falls in the windows, each instant
// counted once.
func overlap(from, to time.Time, windows []store.Window) time.Duration {
	type span struct{ a, b time.Time }
	var spans []span
	for _, w := range windows {
		a, b := maxTime(from, w.Start), minTime(to, w.End)
		if a.Before(b) {
			spans = append(spans, span{a, b})
		}
	}
	slices.SortFunc(spans, func(x, y span) int { return x.a.Compare(y.a) })
	var total time.Duration
	var reach time.Time
	for _, s := range spans {
		if s.a.Before(reach) {
			s.a = reach
		}
		if s.a.Before(s.b) {
			total += s.b.Sub(s.a)
			reach = s.b
		}
	}
	return total
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Reporter builds reports of a configuration's checks.
type Reporter struct {
	Source Source
	// Checks are every check's name, merchant/check, in the order to list
	// them.
	Checks []string
	// Merchants are every merchant's name: one without checks of its own
	// may have alerts of sources.
	Merchants []string
	// Covers says whether a maintenance target covers a check.
	Covers   func(target, check string) bool
	Location *time.Location
	Now      func() time.Time
}

// Report builds the report of period (as ParsePeriod reads it) for the
// checks of merchants, or of every merchant when merchants is nil.
func (rp *Reporter) Report(ctx context.Context, merchants []string, period string) (*Report, error) {
	now := time.Now()
	if rp.Now != nil {
		now = rp.Now()
	}
	if rp.Location == nil {
		rp.Location = time.UTC
	}
	p, err := ParsePeriod(period, now, rp.Location)
	if err != nil {
		return nil, err
	}
	var checks []string
	for _, c := range rp.Checks {
		m, _, _ := strings.Cut(c, "/")
		if merchants == nil || slices.Contains(merchants, m) {
			checks = append(checks, c)
		}
	}
	if merchants == nil {
		merchants = rp.Merchants
	}
	return build(ctx, rp.Source, merchants, checks, p, now, rp.Covers)
}
