package claim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

// Source is what a claim reads of the record.
type Source interface {
	Incidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error)
	Windows(ctx context.Context, from, to time.Time) ([]store.Window, error)
	Failures(ctx context.Context, check string, from, to time.Time) ([]store.Failure, error)
}

// Request names the claim: whose, against whom, for which month.
type Request struct {
	Provider, Merchant string
	// Month is the calendar month, "2026-11", in the configured zone.
	Month string
}

// The ways an SLA measures several checks.
const (
	// Any counts the merchant down while any of its checks is down.
	Any = "any"
	// All counts it down only while all of them are.
	All = "all"
)

// SLA is a provider's promise as it applies to one merchant.
type SLA struct {
	// MonthlyUptime is the uptime promised, in percent.
	MonthlyUptime float64
	// Credits are the tiers; the lowest one missed counts.
	Credits    []Tier
	MonthlyFee int64
	Currency   string
	// Checks are the merchant's checks under the SLA.
	Checks             []Check
	ExcludeMaintenance bool
	// Measure is Any or All.
	Measure string
	// Covers says whether a maintenance target (merchant,
	// merchant/check, provider:NAME) covers a check.
	Covers func(target, check string) bool
	// Where is where the probes ran from: the instance's location or
	// name.
	Where string
}

// Tier is one credit tier: a month whose uptime is below Below owes
// Percent of the fee.
type Tier struct {
	Below   float64
	Percent int
}

// Check is a check under the SLA and how often it was probed.
type Check struct {
	ID       string
	Schedule string
	Timeout  time.Duration
}

// Claim is the credit owed for one month, with its evidence.
type Claim struct {
	Provider, Merchant, Month string
	// From and To are the month, [From, To); Until is when the
	// measurement stops: To, or now in a month not over yet (Partial).
	From, To, Until time.Time
	Partial         bool
	Measure         string
	// ExcludeMaintenance says whether the maintenance windows were left
	// out; Windows lists those that were, with the targets that cover
	// the checks.
	ExcludeMaintenance bool
	Windows            []store.Window
	// Promised is the uptime promised, in percent.
	Promised float64
	// Measured is the time measured, Until − From; Downtime the time
	// down in it, maintenance left out; Maintenance the time down left
	// out as maintenance.
	Measured, Downtime, Maintenance time.Duration
	// Uptime is 100 × (1 − Downtime ÷ Measured), cut to three decimals.
	Uptime float64
	// Missed is the tier missed, nil when the promise was kept.
	Missed   *Tier
	Fee      int64
	Currency string
	// Credit is Fee × Missed.Percent ÷ 100, cut to a whole unit.
	Credit  int64
	Checks  []Check
	Outages []Outage
	// Where is where the probes ran from.
	Where string
	// ChainHead is the head of the record's hash chain when the claim
	// was made; empty while the record keeps none.
	ChainHead string
	// Verify tells the reader how to check the claim against the
	// record; empty for the built-in words.
	Verify string
}

// Outage is one stretch of time the merchant counts as down, after the
// checks were combined and maintenance left out.
type Outage struct {
	Start, End time.Time
	Duration   time.Duration
	// Checks are the checks down during it.
	Checks []string
	// Continues says the outage went on past Until.
	Continues bool
	Errors    []Errors
}

// Errors are the failed probes of one kind of one check in an outage.
type Errors struct {
	Check, Kind           string
	Count                 int
	First, Last           time.Time
	FirstError, LastError string
}

// ErrMonth is returned for a month that cannot be claimed.
var ErrMonth = errors.New("a month is written 2026-11 and must have begun")

// Month reads a month as "2026-11" in loc, refusing one not begun at now.
func Month(s string, now time.Time, loc *time.Location) (from, to time.Time, err error) {
	from, err = time.ParseInLocation("2006-01", s, loc)
	if err != nil || from.Year() < 2000 {
		return time.Time{}, time.Time{}, fmt.Errorf("%q: %w", s, ErrMonth)
	}
	if from.After(now) {
		return time.Time{}, time.Time{}, fmt.Errorf("%q has not begun: %w", s, ErrMonth)
	}
	return from, from.AddDate(0, 1, 0), nil
}

// Compute makes the claim of req under sla from the record, the month
// in loc, measured up to now when it is not over.
func Compute(ctx context.Context, src Source, req Request, sla SLA, loc *time.Location, now time.Time) (*Claim, error) {
	if loc == nil {
		loc = time.UTC
	}
	from, to, err := Month(req.Month, now, loc)
	if err != nil {
		return nil, err
	}
	if len(sla.Checks) == 0 {
		return nil, fmt.Errorf("%s has no check under the SLA of %s", req.Merchant, req.Provider)
	}
	c := &Claim{Provider: req.Provider, Merchant: req.Merchant, Month: req.Month, From: from, To: to, Until: to,
		Measure: cmp.Or(sla.Measure, Any), ExcludeMaintenance: sla.ExcludeMaintenance, Promised: sla.MonthlyUptime,
		Fee: sla.MonthlyFee, Currency: sla.Currency, Checks: sla.Checks, Where: sla.Where}
	if now.Before(to) {
		// To the second, as the claim shows it.
		c.Until, c.Partial = now.Truncate(time.Second), true
	}
	month := span{from, c.Until}
	c.Measured = month.length()

	ids := make([]string, len(sla.Checks))
	for i, ch := range sla.Checks {
		ids[i] = ch.ID
	}
	// Each check's time down in the month, whole and with the
	// maintenance windows that cover it cut out.
	down, kept := map[string][]span{}, map[string][]span{}
	continues := map[string]bool{}
	incidents, err := src.Incidents(ctx, store.IncidentFilter{Since: from, Merchants: []string{req.Merchant}})
	if err != nil {
		return nil, fmt.Errorf("read the incidents of %s: %w", req.Merchant, err)
	}
	for _, in := range incidents {
		if !slices.Contains(ids, in.Check) {
			continue
		}
		end := in.End
		if end.IsZero() || end.After(c.Until) {
			end = c.Until
			continues[in.Check] = true
		}
		if s := (span{later(in.Start, from), end}); s.a.Before(s.b) {
			down[in.Check] = append(down[in.Check], s)
		}
	}
	if sla.ExcludeMaintenance {
		windows, err := src.Windows(ctx, from, c.Until)
		if err != nil {
			return nil, fmt.Errorf("read the maintenance windows: %w", err)
		}
		for _, w := range windows {
			var shown []string
			for _, t := range w.Targets {
				if slices.ContainsFunc(ids, func(id string) bool { return sla.Covers != nil && sla.Covers(t, id) }) {
					shown = append(shown, t)
				}
			}
			if len(shown) > 0 {
				w.Targets = shown
				c.Windows = append(c.Windows, w)
			}
		}
	}
	for _, id := range ids {
		down[id] = union(down[id])
		var cuts []span
		for _, w := range c.Windows {
			if slices.ContainsFunc(w.Targets, func(t string) bool { return sla.Covers(t, id) }) {
				cuts = append(cuts, span{w.Start, w.End})
			}
		}
		kept[id] = subtract(down[id], union(cuts))
	}
	whole, counted := combine(c.Measure, ids, down), combine(c.Measure, ids, kept)
	c.Downtime, c.Maintenance = total(counted), total(whole)-total(counted)

	c.Uptime, c.Missed = Measure(c.Downtime, c.Measured, sla.Credits)
	if c.Missed != nil {
		c.Credit = sla.MonthlyFee * int64(c.Missed.Percent) / 100
	}

	for _, s := range counted {
		o := Outage{Start: s.a, End: s.b, Duration: s.length()}
		for _, id := range ids {
			if len(intersect([]span{s}, kept[id])) == 0 {
				continue
			}
			o.Checks = append(o.Checks, id)
			o.Continues = o.Continues || (s.b.Equal(c.Until) && continues[id])
			fs, err := src.Failures(ctx, id, s.a, s.b)
			if err != nil {
				return nil, fmt.Errorf("read the failures of %s: %w", id, err)
			}
			o.Errors = append(o.Errors, summarize(id, fs)...)
		}
		c.Outages = append(c.Outages, o)
	}
	return c, nil
}

// combine is the time the merchant counts as down: while any check is
// down, or only while all are.
func combine(measure string, ids []string, down map[string][]span) []span {
	if measure != All {
		var all []span
		for _, id := range ids {
			all = append(all, down[id]...)
		}
		return union(all)
	}
	out := down[ids[0]]
	for _, id := range ids[1:] {
		out = intersect(out, down[id])
	}
	return out
}

// Measure is the uptime of a month measured for measured with downtime
// down, in percent cut to three decimals, and the tier it missed: of the
// tiers whose below is above the uptime, the one with the lowest below.
// An uptime equal to a below is not below it.
func Measure(down, measured time.Duration, tiers []Tier) (uptime float64, missed *Tier) {
	// In thousandths of a percent, on whole milliseconds as the record
	// keeps them: exact where floating point is not.
	milli := int64(100000)
	if ms := measured.Milliseconds(); ms > 0 {
		up := max(ms-down.Milliseconds(), 0)
		milli = 100000 * up / ms
	}
	for i, t := range tiers {
		below := int64(math.Round(t.Below * 1000))
		if milli < below && (missed == nil || t.Below < missed.Below) {
			missed = &tiers[i]
		}
	}
	if missed != nil {
		t := *missed
		missed = &t
	}
	return float64(milli) / 1000, missed
}

// summarize counts failures by kind, first and last, in order of the
// first failure of each kind.
func summarize(check string, fs []store.Failure) []Errors {
	var out []Errors
	for _, f := range fs {
		i := slices.IndexFunc(out, func(e Errors) bool { return e.Kind == f.Kind })
		if i < 0 {
			out = append(out, Errors{Check: check, Kind: f.Kind, First: f.At, FirstError: f.Error})
			i = len(out) - 1
		}
		e := &out[i]
		e.Count++
		if !f.At.Before(e.Last) {
			e.Last, e.LastError = f.At, f.Error
		}
		if f.At.Before(e.First) {
			e.First, e.FirstError = f.At, f.Error
		}
	}
	return out
}
