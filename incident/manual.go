package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/store"
)

// What people do through the chat apps: acknowledge, resolve, silence. Each
// runs in the writer's goroutine, in one transaction with the messages it
// causes.

// ErrUnknownTarget is returned for a silence of something the
// configuration does not have.
var ErrUnknownTarget = errors.New("no such merchant, check or provider")

// AlertInfo is what the bot needs to know of an alert to check who may act
// on it.
type AlertInfo struct {
	ID     int64
	Scope  string // store.ScopeMerchant or store.ScopeProvider
	Name   string
	Checks []string // the checks of its open incidents
}

// Alert returns open alert id.
func (e *Engine) Alert(id int64) (AlertInfo, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.alerts[id]
	if a == nil || id <= 0 {
		return AlertInfo{}, false
	}
	info := AlertInfo{ID: a.ID, Scope: a.Scope, Name: a.Name}
	for _, m := range a.members {
		if m.isOpen() && !slices.Contains(info.Checks, m.check) {
			info.Checks = append(info.Checks, m.check)
		}
	}
	return info, true
}

// Acknowledge records that by took open incident n in hand: the alert
// stops escalating once every incident it tells of is acknowledged, and
// its messages say who did. It fails with store.ErrNotFound for an incident
// that is not open and store.ErrAcknowledged for one acknowledged before.
func (e *Engine) Acknowledge(ctx context.Context, n int64, by string) (store.Incident, error) {
	var ackErr error
	err := e.do(ctx, func() error {
		return e.update(ctx, func(p *pass) error {
			m := e.member(n)
			switch {
			case m == nil:
				ackErr = fmt.Errorf("acknowledge #%d: %w", n, store.ErrNotFound)
				return nil
			case !m.ackAt.IsZero():
				ackErr = fmt.Errorf("acknowledge #%d: %w", n, store.ErrAcknowledged)
				return nil
			}
			return p.acknowledge(m, by)
		})
	})
	if err == nil {
		err = ackErr
	}
	in, gerr := e.store.Incident(ctx, n)
	if err == nil {
		err = gerr
	}
	return in, err
}

// AcknowledgeAlert acknowledges every open incident of alert id that
// nobody has, or a provider's outage. It fails with store.ErrNotFound for
// an alert that is not open and store.ErrAcknowledged when there is
// nothing left to acknowledge.
func (e *Engine) AcknowledgeAlert(ctx context.Context, id int64, by string) (AlertInfo, error) {
	var ackErr error
	err := e.do(ctx, func() error {
		return e.update(ctx, func(p *pass) error {
			a := e.alerts[id]
			if a == nil || id <= 0 {
				ackErr = fmt.Errorf("acknowledge alert %d: %w", id, store.ErrNotFound)
				return nil
			}
			if a.Scope == store.ScopeProvider {
				if !a.AckAt.IsZero() {
					ackErr = fmt.Errorf("acknowledge alert %d: %w", id, store.ErrAcknowledged)
					return nil
				}
				a.AckAt, a.AckBy = p.now, by
				p.dirty[a.ID] = a
				return p.save(a)
			}
			acked := 0
			for _, m := range a.members {
				if m.isOpen() && m.ackAt.IsZero() {
					if err := p.acknowledge(m, by); err != nil {
						return err
					}
					acked++
				}
			}
			if acked == 0 {
				ackErr = fmt.Errorf("acknowledge alert %d: %w", id, store.ErrAcknowledged)
			}
			return nil
		})
	})
	if err == nil {
		err = ackErr
	}
	info, _ := e.Alert(id)
	return info, err
}

func (p *pass) acknowledge(m *member, by string) error {
	if err := p.tx.Acknowledge(p.ctx, m.incident, by, p.now); err != nil {
		return err
	}
	if err := p.event(m.incident, "acknowledged", by); err != nil {
		return err
	}
	m.ackAt, m.ackBy = p.now, by
	p.touch(m)
	return nil
}

// member finds open incident n.
func (e *Engine) member(n int64) *member {
	for _, m := range e.open {
		if m.incident == n {
			return m
		}
	}
	return nil
}

// Resolve closes open incident n by hand, for by, and tells its contacts.
// The check is still probed: it opens a new incident only after it has
// recovered and gone down again.
func (e *Engine) Resolve(ctx context.Context, n int64, by string) (store.Incident, error) {
	var resolveErr error
	err := e.do(ctx, func() error {
		return e.update(ctx, func(p *pass) error {
			m := e.member(n)
			if m == nil {
				resolveErr = fmt.Errorf("resolve #%d: %w", n, store.ErrNotFound)
				return nil
			}
			if err := p.tx.ResolveIncident(p.ctx, n, p.now, by); err != nil {
				return err
			}
			if err := p.event(n, "resolved", "by hand: "+by); err != nil {
				return err
			}
			m.end, m.resolvedBy = p.now, by
			delete(e.open, m.check)
			p.touch(m)
			return p.correlate()
		})
	})
	if err == nil {
		err = resolveErr
	}
	in, gerr := e.store.Incident(ctx, n)
	if err == nil {
		err = gerr
	}
	return in, err
}

// Silence holds the messages about target (merchant/check, merchant or
// provider:NAME) for d. Checks stay probed and recorded; an alert held by
// the silence goes out when it ends if its check is still down.
func (e *Engine) Silence(ctx context.Context, target string, d time.Duration, reason, by string) (store.Silence, error) {
	if !e.rules.Target(target) {
		return store.Silence{}, fmt.Errorf("silence %q: %w", target, ErrUnknownTarget)
	}
	var s store.Silence
	err := e.do(ctx, func() error {
		return e.update(ctx, func(p *pass) error {
			s = store.Silence{Target: target, Start: p.now, End: p.now.Add(d), Reason: reason, By: by}
			if err := p.tx.AddSilence(p.ctx, &s); err != nil {
				return err
			}
			for _, m := range e.open {
				if e.rules.Covers(target, m.check) {
					if err := p.event(m.incident, "silenced", silenceReason(s)+" (by "+by+")"); err != nil {
						return err
					}
				}
			}
			e.silences = append(e.silences, s)
			return nil
		})
	})
	return s, err
}

// SilenceAlert silences what alert id is about for d: its check when it
// tells of one, else its merchant, or its provider.
func (e *Engine) SilenceAlert(ctx context.Context, id int64, d time.Duration, by string) (store.Silence, error) {
	info, ok := e.Alert(id)
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
func (e *Engine) Silences() []store.Silence {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.activeSilences(e.clock.Now())
}

// Unsilence lifts silence id; what it held and is still down is told at
// once.
func (e *Engine) Unsilence(ctx context.Context, id int64, by string) (store.Silence, error) {
	var lifted store.Silence
	var liftErr error
	err := e.do(ctx, func() error {
		return e.update(ctx, func(p *pass) error {
			i := slices.IndexFunc(e.silences, func(s store.Silence) bool { return s.ID == id })
			if i < 0 {
				liftErr = fmt.Errorf("silence %d: %w", id, store.ErrNotFound)
				return nil
			}
			if err := p.tx.LiftSilence(p.ctx, id, by, p.now); err != nil {
				return err
			}
			lifted = e.silences[i]
			e.silences = slices.Delete(e.silences, i, i+1)
			for _, a := range e.alerts {
				p.dirty[a.ID] = a
			}
			return nil
		})
	})
	if err == nil {
		err = liftErr
	}
	return lifted, err
}

func encode(m notifier.Message) ([]byte, error) {
	payload, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	return payload, nil
}
