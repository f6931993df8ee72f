package incident

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hostwatch/hostwatch/source"
	"github.com/hostwatch/hostwatch/store"
)

// Take records the signals of one request of a source in one transaction,
// and has them decided on: a Down opens the incident of its check (an
// alert that fires again changes nothing), an Up resolves it, an Ack
// acknowledges it by the source's name. It returns once they are written,
// or with the reason they are not, having written none of them.
//
// An alert is known by its source and key, whichever merchant it was
// opened under: a key is unique within its source, and a reload that
// sends the label to another merchant must not leave it open forever.
func (e *Engine) Take(ctx context.Context, sigs []source.Signal) error {
	checks, err := e.checksOf(ctx, sigs)
	if err != nil {
		return err
	}
	if err := e.register(ctx, checks); err != nil {
		return err
	}
	return e.act(ctx, func(tx store.Tx, now time.Time) error {
		// What is open is read again in the transaction: a resolve that
		// comes with its trigger sees it.
		open, err := openAlerts(ctx, tx)
		if err != nil {
			return err
		}
		for _, s := range sigs {
			if err := takeSignal(ctx, tx, s, open, now); err != nil {
				return fmt.Errorf("%s: %w", s.Suffix(), err)
			}
		}
		return nil
	})
}

// openAlerts are the open incidents of sources' alerts, by their source
// and key (Signal.Suffix).
func openAlerts(ctx context.Context, r interface {
	Incidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error)
}) (map[string]store.Incident, error) {
	ins, err := r.Incidents(ctx, store.IncidentFilter{OpenOnly: true})
	if err != nil {
		return nil, fmt.Errorf("open incidents: %w", err)
	}
	out := map[string]store.Incident{}
	for _, in := range ins {
		if source.SourceOf(in.Check) != "" {
			out[in.Check[strings.Index(in.Check, "/"):]] = in
		}
	}
	return out, nil
}

// checksOf lists the checks the signals are about, for the store to know
// them before the transaction: each Down's own, and the check an alert is
// open under now.
func (e *Engine) checksOf(ctx context.Context, sigs []source.Signal) ([]string, error) {
	open, err := openAlerts(ctx, e.store)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range sigs {
		if s.Action == source.Down {
			out = append(out, s.Check())
		}
		if in, ok := open[s.Suffix()]; ok {
			out = append(out, in.Check)
		}
	}
	return out, nil
}

// register makes the store know checks that a source named.
func (e *Engine) register(ctx context.Context, checks []string) error {
	var fresh []string
	for _, c := range checks {
		if _, ok := e.registered.Load(c); c != "" && !ok && !slices.Contains(fresh, c) {
			fresh = append(fresh, c)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := e.store.Register(ctx, fresh); err != nil {
		return err
	}
	for _, c := range fresh {
		e.registered.Store(c, true)
	}
	return nil
}

// takeSignal records one signal, open being the sources' alerts open now
// by source and key; it keeps open up to date.
func takeSignal(ctx context.Context, tx store.Tx, s source.Signal, open map[string]store.Incident, now time.Time) error {
	at := s.At
	if at.IsZero() || at.After(now) {
		at = now
	}
	in, isOpen := open[s.Suffix()]
	switch s.Action {
	case source.Down:
		if isOpen {
			return nil // fires again: nothing new
		}
		check := s.Check()
		last, err := tx.Incidents(ctx, store.IncidentFilter{Check: check, Limit: 1})
		if err != nil {
			return err
		}
		if len(last) > 0 && !at.Truncate(time.Millisecond).After(last[0].End) {
			// The same firing as an incident already over (resolved by
			// hand, or a late duplicate of a notification): only a new
			// firing, after it, opens another.
			return nil
		}
		if err := tx.SetOrigin(ctx, check, store.Origin{Source: s.Source, Title: s.Title, Labels: s.Labels, Summary: s.Summary}); err != nil {
			return err
		}
		if err := tx.AddFailures(ctx, []store.Failure{{Check: check, At: at, Kind: "alert", Error: s.Summary, Evidence: s.Evidence}}); err != nil {
			return err
		}
		if err := tx.RecordChange(ctx, store.Change{Check: check, From: store.Up, To: store.Down, Since: at, Confirmed: now, Now: now,
			Detail: fmt.Sprintf("%s: %s", s.Source, s.Summary)}); err != nil {
			return err
		}
		opened, err := tx.Incidents(ctx, store.IncidentFilter{Check: check, OpenOnly: true, Limit: 1})
		if err != nil {
			return err
		}
		if len(opened) > 0 {
			open[s.Suffix()] = opened[0] // for what follows in the request
		}
		return tx.SaveCheckState(ctx, store.CheckState{Check: check, State: store.Down, Since: at, FailStreak: 1, StreakSince: at,
			Probed: now, First: at})
	case source.Up:
		if !isOpen {
			return nil
		}
		delete(open, s.Suffix())
		at = maxTime(at, in.Start)
		if err := tx.RecordChange(ctx, store.Change{Check: in.Check, From: store.Down, To: store.Up, Since: at, Confirmed: now, Now: now,
			Detail: s.Source + " says it is resolved"}); err != nil {
			return err
		}
		return tx.SaveCheckState(ctx, store.CheckState{Check: in.Check, State: store.Up, Since: at, OKStreak: 1, StreakSince: at, Probed: now})
	case source.Ack:
		if !isOpen || !in.AckAt.IsZero() {
			return nil
		}
		in.AckAt = now
		open[s.Suffix()] = in
		return acknowledge(ctx, tx, in.ID, s.Source, now)
	}
	return fmt.Errorf("no such action %q", s.Action)
}

// origins are what the sources said of the checks they reported, read
// from the store when the engine loads and when a check it does not know
// opens. The zero value, and a nil one, know none.
type origins struct {
	mu sync.RWMutex
	m  map[string]store.Origin
}

func (o *origins) get(check string) (store.Origin, bool) {
	if o == nil {
		return store.Origin{}, false
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	v, ok := o.m[check]
	return v, ok
}

func (o *origins) set(m map[string]store.Origin) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.m = m
}

// matches reports whether check is an alert whose labels include every
// pair of match; an empty match selects none.
func (o *origins) matches(check string, match map[string]string) bool {
	v, ok := o.get(check)
	return ok && len(match) > 0 && labelsMatch(v.Labels, match)
}

// labelled lists the alerts whose labels include every pair of match,
// sorted; none for an empty match.
func (o *origins) labelled(match map[string]string) []string {
	if o == nil || len(match) == 0 {
		return nil
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	var out []string
	for check, v := range o.m {
		if labelsMatch(v.Labels, match) {
			out = append(out, check)
		}
	}
	slices.Sort(out)
	return out
}

func labelsMatch(labels, match map[string]string) bool {
	for k, want := range match {
		if labels[k] != want {
			return false
		}
	}
	return true
}

// loadOrigins reads the origins again, when check is a source's alert
// that they do not know.
func (e *Engine) loadOrigins(ctx context.Context, check string) error {
	if check != "" {
		if _, ok := e.rules.origins.get(check); ok || source.SourceOf(check) == "" {
			return nil
		}
	}
	m, err := e.store.Origins(ctx)
	if err != nil {
		return err
	}
	e.rules.origins.set(m)
	return nil
}
