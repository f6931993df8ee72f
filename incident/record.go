package incident

import (
	"context"
	"fmt"
	"time"

	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/store"
)

// record stores one batch of this instance's observations in one
// transaction: every failed probe, the checks' states, each change of
// state with the incident it opens or resolves, and for each change a
// signal to the decider. It reports whether it signalled anything.
func (e *Engine) record(ctx context.Context, batch []monitor.Observation) (bool, error) {
	changed := false
	err := e.store.Update(ctx, func(tx store.Tx) error {
		now := e.clock.Now()
		var fails []store.Failure
		states := map[string]store.CheckState{}
		for _, o := range batch {
			id := o.Check.ID
			if o.Change != nil {
				// Failures before the change belong to what was before it.
				if err := tx.AddFailures(ctx, fails); err != nil {
					return err
				}
				fails = fails[:0]
				if err := recordChange(ctx, tx, o, now); err != nil {
					return err
				}
				changed = true
			}
			if !o.Result.OK {
				fails = append(fails, store.Failure{Check: id, At: o.At, Latency: o.Result.Latency, Kind: o.Result.Kind,
					Error: o.Result.Error, Evidence: o.Result.Evidence})
			}
			s := o.State
			s.Probed = o.At
			states[id] = s
		}
		if err := tx.AddFailures(ctx, fails); err != nil {
			return err
		}
		for _, s := range states {
			if err := tx.SaveCheckState(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	for _, o := range batch {
		e.stats.add(o.Check.ID, o.At, o.Result)
	}
	return changed, nil
}

// recordChange stores one change of a check's state: down opens its
// incident, unless one is open, and up from down resolves it.
func recordChange(ctx context.Context, tx store.Tx, o monitor.Observation, now time.Time) error {
	c := store.Change{Check: o.Check.ID, From: o.Change.From, To: o.Change.To, Since: o.Change.Since, Confirmed: o.At, Now: now}
	switch {
	case c.To == store.Down:
		c.Detail = fmt.Sprintf("%d failed probes since %s: %s", o.State.FailStreak, c.Since.UTC().Format(time.RFC3339), o.Result.Error)
	case c.From == store.Down:
		c.Detail = fmt.Sprintf("%d successful probes since %s", o.State.OKStreak, c.Since.UTC().Format(time.RFC3339))
	}
	return tx.RecordChange(ctx, c)
}
