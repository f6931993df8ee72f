package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

// What people do through the chat apps: acknowledge, resolve, silence. On
// whichever instance they arrive, each is written in one transaction that
// waits for the decider's pass under way and keeps the next from starting
// before it commits: the facts, read and changed afresh, and a signal. The
// decider takes the signal in its next pass, at once on this instance
// when it takes the decisions here, and tells of it.

// ErrUnknownTarget is returned for a silence of something the
// configuration does not have.
var ErrUnknownTarget = errors.New("no such merchant, check or provider")

// act runs fn in one transaction excluded from the decider's passes, then
// has the signals it wrote taken: here, before it returns, when this
// instance takes the decisions; by the decider's next look otherwise.
func (e *Engine) act(ctx context.Context, fn func(tx store.Tx, now time.Time) error) error {
	err := e.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.Exclude(ctx, leaseName); err != nil {
			return err
		}
		return fn(tx, e.clock.Now())
	})
	if err != nil {
		return err
	}
	if e.Leader() {
		// Told before the answer: the one who acted sees the alert
		// say so.
		e.do(ctx, func() error {
			e.decide(ctx)
			return nil
		})
	}
	return nil
}

// AlertInfo is what the bot needs to know of an alert to check who may act
// on it.
type AlertInfo struct {
	ID     int64
	Scope  string // store.ScopeMerchant or store.ScopeProvider
	Name   string
	Checks []string // the checks of its open incidents
}

// Alert returns open alert id, as the store has it.
func (e *Engine) Alert(ctx context.Context, id int64) (AlertInfo, bool) {
	a, err := e.store.Alert(ctx, id)
	if err != nil || !a.Closed.IsZero() {
		return AlertInfo{}, false
	}
	ins, err := e.store.Incidents(ctx, store.IncidentFilter{Alert: id, OpenOnly: true})
	if err != nil {
		return AlertInfo{}, false
	}
	return alertInfo(a, ins), true
}

func alertInfo(a store.Alert, open []store.Incident) AlertInfo {
	info := AlertInfo{ID: a.ID, Scope: a.Scope, Name: a.Name}
	slices.Reverse(open) // oldest first
	for _, in := range open {
		if !slices.Contains(info.Checks, in.Check) {
			info.Checks = append(info.Checks, in.Check)
		}
	}
	return info
}

// openIncident reads incident n in tx, or fails with store.ErrNotFound
// when it is not open.
func openIncident(ctx context.Context, tx store.Tx, n int64) (store.Incident, error) {
	ins, err := tx.Incidents(ctx, store.IncidentFilter{IDs: []int64{n}})
	if err != nil {
		return store.Incident{}, err
	}
	if len(ins) == 0 || !ins[0].Open() {
		return store.Incident{}, store.ErrNotFound
	}
	return ins[0], nil
}

// acknowledge records who acknowledged incident n, with its timeline and
// a signal.
func acknowledge(ctx context.Context, tx store.Tx, n int64, by string, now time.Time) error {
	if err := tx.Acknowledge(ctx, n, by, now); err != nil {
		return err
	}
	if err := tx.AddEvent(ctx, store.Event{Incident: n, At: now, Kind: "acknowledged", Detail: by}); err != nil {
		return err
	}
	return tx.Signal(ctx, store.Signal{Kind: store.SignalIncident, Incident: n, At: now})
}

// Acknowledge records that by took open incident n in hand: the alert
// stops escalating once every incident it tells of is acknowledged, and
// its messages say who did. It fails with store.ErrNotFound for an incident
// that is not open and store.ErrAcknowledged for one acknowledged before.
func (e *Engine) Acknowledge(ctx context.Context, n int64, by string) (store.Incident, error) {
	err := e.act(ctx, func(tx store.Tx, now time.Time) error {
		in, err := openIncident(ctx, tx, n)
		switch {
		case err != nil:
			return err
		case !in.AckAt.IsZero():
			return store.ErrAcknowledged
		}
		return acknowledge(ctx, tx, n, by, now)
	})
	if err != nil {
		return store.Incident{}, fmt.Errorf("acknowledge #%d: %w", n, err)
	}
	return e.store.Incident(ctx, n)
}

// AcknowledgeAlert acknowledges every open incident of alert id that
// nobody has, or a provider's outage. It fails with store.ErrNotFound for
// an alert that is not open and store.ErrAcknowledged when there is
// nothing left to acknowledge.
func (e *Engine) AcknowledgeAlert(ctx context.Context, id int64, by string) (AlertInfo, error) {
	var info AlertInfo
	err := e.act(ctx, func(tx store.Tx, now time.Time) error {
		a, err := tx.Alert(ctx, id)
		if err != nil || !a.Closed.IsZero() {
			return store.ErrNotFound
		}
		open, err := tx.Incidents(ctx, store.IncidentFilter{Alert: id, OpenOnly: true})
		if err != nil {
			return err
		}
		info = alertInfo(a, slices.Clone(open))
		if a.Scope == store.ScopeProvider {
			if !a.AckAt.IsZero() {
				return store.ErrAcknowledged
			}
			a.AckAt, a.AckBy = now, by
			if err := tx.SaveAlert(ctx, &a); err != nil {
				return err
			}
			return tx.Signal(ctx, store.Signal{Kind: store.SignalAlert, Alert: id, At: now})
		}
		acked := 0
		for _, in := range open {
			if in.AckAt.IsZero() {
				if err := acknowledge(ctx, tx, in.ID, by, now); err != nil {
					return err
				}
				acked++
			}
		}
		if acked == 0 {
			return store.ErrAcknowledged
		}
		return nil
	})
	if err != nil {
		return info, fmt.Errorf("acknowledge alert %d: %w", id, err)
	}
	return info, nil
}

// Resolve closes open incident n by hand, for by, and tells its contacts.
// The check is still probed: it opens a new incident only after it has
// recovered and gone down again.
func (e *Engine) Resolve(ctx context.Context, n int64, by string) (store.Incident, error) {
	err := e.act(ctx, func(tx store.Tx, now time.Time) error {
		if _, err := openIncident(ctx, tx, n); err != nil {
			return err
		}
		if err := tx.ResolveIncident(ctx, n, now, by); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, store.Event{Incident: n, At: now, Kind: "resolved", Detail: "by hand: " + by}); err != nil {
			return err
		}
		return tx.Signal(ctx, store.Signal{Kind: store.SignalIncident, Incident: n, At: now})
	})
	if err != nil {
		return store.Incident{}, fmt.Errorf("resolve #%d: %w", n, err)
	}
	return e.store.Incident(ctx, n)
}

// Silence holds the messages about target (merchant/check, merchant or
// provider:NAME) for d. Checks stay probed and recorded; an alert held by
// the silence goes out when it ends if its check is still down.
func (e *Engine) Silence(ctx context.Context, target string, d time.Duration, reason, by string) (store.Silence, error) {
	if !e.rules.Target(target) {
		return store.Silence{}, fmt.Errorf("silence %q: %w", target, ErrUnknownTarget)
	}
	var s store.Silence
	err := e.act(ctx, func(tx store.Tx, now time.Time) error {
		s = store.Silence{Target: target, Start: now, End: now.Add(d), Reason: reason, By: by}
		if err := tx.AddSilence(ctx, &s); err != nil {
			return err
		}
		open, err := tx.Incidents(ctx, store.IncidentFilter{OpenOnly: true})
		if err != nil {
			return err
		}
		for _, in := range open {
			if e.rules.Covers(target, in.Check) {
				if err := tx.AddEvent(ctx, store.Event{Incident: in.ID, At: now, Kind: "silenced",
					Detail: silenceReason(s) + " (by " + by + ")"}); err != nil {
					return err
				}
			}
		}
		return tx.Signal(ctx, store.Signal{Kind: store.SignalSilences, At: now})
	})
	return s, err
}

// SilenceAlert silences what alert id is about for d: its check when it
// tells of one, else its merchant, or its provider.
func (e *Engine) SilenceAlert(ctx context.Context, id int64, d time.Duration, by string) (store.Silence, error) {
	info, ok := e.Alert(ctx, id)
	if !ok {
		return store.Silence{}, fmt.Errorf("silence alert %d: %w", id, store.ErrNotFound)
	}
	target := info.Name
	switch {
	case info.Scope == store.ScopeProvider:
		target = "provider:" + info.Name
	case len(info.Checks) == 1:
		target = info.Checks[0]
	}
	return e.Silence(ctx, target, d, "", by)
}

// Silences lists the silences in force: the configuration's, numbered 0,
// and those set by command.
func (e *Engine) Silences(ctx context.Context) ([]store.Silence, error) {
	now := e.clock.Now()
	set, err := e.store.Silences(ctx, now)
	if err != nil {
		return nil, err
	}
	return activeSilences(e.rules, set, now), nil
}

// Unsilence lifts silence id; what it held and is still down is told at
// once.
func (e *Engine) Unsilence(ctx context.Context, id int64, by string) (store.Silence, error) {
	var lifted store.Silence
	err := e.act(ctx, func(tx store.Tx, now time.Time) error {
		active, err := tx.Silences(ctx, now)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(active, func(s store.Silence) bool { return s.ID == id })
		if i < 0 {
			return fmt.Errorf("silence %d: %w", id, store.ErrNotFound)
		}
		if err := tx.LiftSilence(ctx, id, by, now); err != nil {
			return err
		}
		lifted = active[i]
		return tx.Signal(ctx, store.Signal{Kind: store.SignalSilences, At: now})
	})
	return lifted, err
}
