package incident

import (
	"fmt"
	"slices"
	"time"

	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/store"
)

// held says why messages about check are held now, or "" if they are not:
// a silence, a maintenance window, or (with flapping) its flapping.
func (e *Engine) held(check string, now time.Time, flapping bool) string {
	for _, s := range e.activeSilences(now) {
		if e.rules.Covers(s.Target, check) {
			return silenceReason(s)
		}
	}
	for _, mw := range e.rules.Maintenance {
		if _, end, ok := mw.Window(now); ok && slices.ContainsFunc(mw.Targets, func(t string) bool { return e.rules.Covers(t, check) }) {
			return fmt.Sprintf("maintenance %s until %s", mw.Name, end.Format(time.RFC3339))
		}
	}
	if _, on := e.flapping[check]; flapping && on {
		return "flapping"
	}
	return ""
}

// activeSilences are the silences in force at now: the configuration's
// (numbered 0) and those set by command.
func (e *Engine) activeSilences(now time.Time) []store.Silence {
	return activeSilences(e.rules, e.silences, now)
}

func activeSilences(rules Rules, set []store.Silence, now time.Time) []store.Silence {
	var out []store.Silence
	for _, s := range rules.Silences {
		if s.End.After(now) {
			out = append(out, store.Silence{Target: s.Target, End: s.End, Reason: s.Reason, By: "the configuration"})
		}
	}
	for _, s := range set {
		if s.End.After(now) && !s.Start.After(now) {
			out = append(out, s)
		}
	}
	return out
}

func silenceReason(s store.Silence) string {
	who := "silence #" + fmt.Sprint(s.ID)
	if s.ID == 0 {
		who = "a silence in the configuration"
	}
	r := fmt.Sprintf("%s of %s until %s", who, s.Target, s.End.Format(time.RFC3339))
	if s.Reason != "" {
		r += ": " + s.Reason
	}
	return r
}

// inMaintenance marks an incident that is open during a maintenance
// window of its check in its timeline, and records the window.
func (p *pass) inMaintenance(m *member) error {
	for _, mw := range p.e.rules.Maintenance {
		start, end, ok := mw.Window(p.now)
		if !ok || !slices.ContainsFunc(mw.Targets, func(t string) bool { return p.e.rules.Covers(t, m.check) }) {
			continue
		}
		if err := p.window(mw.Name, start, end, mw.Targets); err != nil {
			return err
		}
		detail := fmt.Sprintf("maintenance %s %s–%s", mw.Name, start.Format(time.RFC3339), end.Format(time.RFC3339))
		if err := p.event(m.incident, "maintenance", detail); err != nil {
			return err
		}
	}
	return nil
}

// window records a maintenance window once.
func (p *pass) window(name string, start, end time.Time, targets []string) error {
	key := windowKey(name, start)
	if p.e.windows[key] {
		return nil
	}
	if err := p.tx.AddWindow(p.ctx, store.Window{Name: name, Start: start, End: end, Targets: targets}); err != nil {
		return err
	}
	p.e.windows[key] = true
	return nil
}

func windowKey(name string, start time.Time) string {
	return name + "@" + start.UTC().Format(time.RFC3339)
}

// maintenance records the windows open now and marks the incidents open in
// them.
func (p *pass) maintenance() error {
	for _, mw := range p.e.rules.Maintenance {
		start, _, ok := mw.Window(p.now)
		if !ok || p.e.windows[windowKey(mw.Name, start)] {
			continue
		}
		for _, m := range p.e.open {
			if slices.ContainsFunc(mw.Targets, func(t string) bool { return p.e.rules.Covers(t, m.check) }) {
				if err := p.inMaintenance(m); err != nil {
					return err
				}
			}
		}
		if err := p.window(mw.Name, start, start.Add(mw.Duration.Duration), mw.Targets); err != nil {
			return err
		}
	}
	return nil
}

// flap counts a state change of check and, when it makes the check flap,
// says so once.
func (p *pass) flap(check string, at time.Time) error {
	e, f := p.e, p.e.rules.Flapping
	if f.Changes <= 0 {
		return nil
	}
	cs := append(e.changes[check], at)
	cs = slices.DeleteFunc(cs, func(t time.Time) bool { return !t.After(at.Add(-f.Window.Duration)) })
	e.changes[check] = cs
	if _, on := e.flapping[check]; on || len(cs) <= f.Changes {
		return nil
	}
	if err := p.tx.SetFlapping(p.ctx, check, at); err != nil {
		return err
	}
	e.flapping[check] = at
	detail := fmt.Sprintf("%d state changes within %s", len(cs), notifier.Duration(f.Window.Duration))
	if m := e.open[check]; m != nil {
		if err := p.event(m.incident, "flapping", detail); err != nil {
			return err
		}
	}
	if e.held(check, p.now, false) != "" {
		return nil
	}
	return p.notice(notifier.Message{Kind: notifier.Flapping, Merchant: merchant(check), Check: check,
		Changes: len(cs), Window: f.Window.Duration})
}

// steady ends the flapping of the checks that have not changed state for
// a whole window, and says so.
func (p *pass) steady() error {
	e := p.e
	for _, check := range sortedKeys(e.flapping) {
		last := e.lastChange(check)
		if p.now.Before(last.Add(e.rules.Flapping.Window.Duration)) {
			continue
		}
		if err := p.tx.SetFlapping(p.ctx, check, time.Time{}); err != nil {
			return err
		}
		delete(e.flapping, check)
		m := notifier.Message{Kind: notifier.Steady, Merchant: merchant(check), Check: check, End: last, Since: last}
		if open := e.open[check]; open != nil {
			m.End, m.Incident = time.Time{}, open.incident
			p.touch(open)
		}
		if e.held(check, p.now, false) == "" {
			if err := p.notice(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// notice sends a message that is no alert (no buttons, no later edits) to
// the destinations of the first step of the merchant's policy.
func (p *pass) notice(m notifier.Message) error {
	policy := p.e.rules.policy(m.Merchant)
	payload, err := notifier.Encode(m)
	if err != nil {
		return err
	}
	var items []store.OutboxItem
	for _, d := range p.e.o.Router.Notify(m.Merchant, policy.Steps[0].Notify) {
		items = append(items, store.OutboxItem{CreatedAt: p.now, Destination: d, Op: "send", Payload: payload})
	}
	p.sent = p.sent || len(items) > 0
	return p.tx.Enqueue(p.ctx, items)
}

// nextWake is when something next falls due, zero if nothing will.
func (e *Engine) nextWake() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	if e.stale {
		// Memory may be past what the store holds: try again soon, when
		// the next pass loads it afresh.
		return maxTime(e.holdUntil, now.Add(time.Second))
	}
	var next time.Time
	at := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if !e.leader {
		return time.Time{} // the decider's timers are its holder's
	}
	for _, a := range e.alerts {
		at(a.NextAt)
	}
	if e.chainHeads() {
		at(e.chainSlot(now).AddDate(0, 0, 1))
	}
	for _, s := range e.activeSilences(now) {
		at(s.End)
	}
	for _, s := range e.silences {
		if s.Start.After(now) {
			at(s.Start)
		}
	}
	for _, mw := range e.rules.Maintenance {
		if start, end, ok := mw.Window(now); ok {
			at(end)
			if !e.windows[windowKey(mw.Name, start)] {
				at(now)
			}
		} else {
			at(mw.Cron.Next(now))
		}
	}
	for check := range e.flapping {
		at(e.lastChange(check).Add(e.rules.Flapping.Window.Duration))
	}
	if !next.IsZero() && next.Before(e.holdUntil) {
		next = e.holdUntil
	}
	return next
}

// lastChange is when a flapping check last changed state: its last change
// in the window, or when it began flapping if they all aged out.
func (e *Engine) lastChange(check string) time.Time {
	if cs := e.changes[check]; len(cs) > 0 {
		return cs[len(cs)-1]
	}
	return e.flapping[check]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
