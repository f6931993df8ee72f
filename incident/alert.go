package incident

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/source"
	"github.com/hostwatch/hostwatch/store"
)

// member is one incident of an alert, as the engine holds it.
type member struct {
	incident   int64
	check      string
	start      time.Time
	stepsFrom  time.Time // when its escalation's steps count from
	end        time.Time // zero while open
	resolvedBy string
	err        string
	failures   int
	announced  time.Time // zero while held
	ackAt      time.Time
	ackBy      string
	held       string // why it is held, as last written in its timeline
}

func (m *member) isOpen() bool { return m.end.IsZero() }

// alert is an open alert with its incidents.
type alert struct {
	store.Alert
	members []*member
	// sends are the messages sent about it, oldest first, once read
	// (known): the decider writes every one, so it adds each it writes.
	sends []store.OutboxItem
	known bool
}

// alertSends lists the messages sent about a, read from the store the
// first time this instance needs them.
func (p *pass) alertSends(a *alert) ([]store.OutboxItem, error) {
	if !a.known {
		sends, err := p.tx.AlertSends(p.ctx, a.ID)
		if err != nil {
			return nil, err
		}
		a.sends, a.known = sends, true
	}
	return a.sends, nil
}

// load reads the open incidents and alerts, the active silences and the
// recent state changes from the store into memory.
func (e *Engine) load(ctx context.Context) error {
	now := e.clock.Now()
	e.forget()
	alerts, err := e.store.OpenAlerts(ctx)
	if err != nil {
		return err
	}
	ids := make([]int64, len(alerts))
	for i, sa := range alerts {
		ids[i] = sa.ID
	}
	// Their incidents in one query: a leader that takes over during an
	// outage of thousands loads them in one round trip.
	ins, err := e.store.Incidents(ctx, store.IncidentFilter{Alerts: ids})
	if err != nil {
		return err
	}
	members := map[int64][]*member{}
	slices.Reverse(ins) // oldest first
	for _, in := range ins {
		m := memberOf(in)
		members[in.Alert] = append(members[in.Alert], m)
		if m.isOpen() {
			e.open[m.check] = m
			e.openVersion++
		}
	}
	for _, sa := range alerts {
		a := &alert{Alert: sa, members: members[sa.ID]}
		if a.Since.IsZero() {
			a.Since = a.Opened
		}
		e.alerts[a.ID] = a
		if a.Scope == store.ScopeProvider {
			e.byProvider[a.Name] = a
		} else {
			e.byMerchant[a.Name] = a
		}
	}
	open, err := e.store.Incidents(ctx, store.IncidentFilter{OpenOnly: true})
	if err != nil {
		return err
	}
	for _, in := range open {
		if in.Alert == 0 && e.open[in.Check] == nil {
			e.orphans = append(e.orphans, in)
		}
	}
	if e.silences, err = e.store.Silences(ctx, now); err != nil {
		return err
	}
	if err := e.loadOrigins(ctx, ""); err != nil {
		return err
	}
	ws, err := e.store.Windows(ctx, now, now.Add(time.Millisecond))
	if err != nil {
		return err
	}
	for _, w := range ws {
		e.windows[windowKey(w.Name, w.Start)] = true
	}
	if w := e.rules.Flapping.Window.Duration; e.rules.Flapping.Changes > 0 {
		changes, err := e.store.StateChanges(ctx, now.Add(-w))
		if err != nil {
			return err
		}
		for _, c := range changes {
			if c.Incident != 0 { // counted as the signals are: see signals
				e.changes[c.Check] = append(e.changes[c.Check], c.At)
			}
		}
	}
	if e.flapping, err = e.store.Flapping(ctx); err != nil {
		return err
	}
	e.stale = false
	return nil
}

func memberOf(in store.Incident) *member {
	m := &member{incident: in.ID, check: in.Check}
	m.refresh(in)
	return m
}

// refresh takes what the store says of the member's incident: its end,
// who acknowledged it, its failures and the last error seen.
func (m *member) refresh(in store.Incident) {
	m.start, m.end, m.resolvedBy, m.announced, m.ackAt, m.ackBy = in.Start, in.End, in.ResolvedBy, in.Announced, in.AckAt, in.AckBy
	m.stepsFrom = in.Start
	if source.SourceOf(in.Check) != "" {
		// A source's alert may have fired long before it was sent here:
		// its escalation counts from when hostwatch heard of it.
		m.stepsFrom = in.Confirmed
	}
	var last time.Time
	m.failures = 0
	for _, es := range in.Errors {
		if es.Last.After(last) || m.err == "" {
			m.err, last = es.LastError, es.Last
		}
		m.failures += es.Count
	}
}

// pass is one transaction's work on the engine's state.
type pass struct {
	e     *Engine
	ctx   context.Context
	tx    store.Tx
	now   time.Time
	dirty map[int64]*alert // alerts to settle before the commit
	sent  bool
	more  bool // signals are left for another pass
}

// maxSignals bounds the signals one pass takes.
const maxSignals = 10000

// signals takes the signals waiting: the changes the instances recorded
// and what people did, each read afresh from the store.
func (p *pass) signals() error {
	e := p.e
	sigs, err := p.tx.Signals(p.ctx, maxSignals)
	if err != nil {
		return err
	}
	p.more = len(sigs) == maxSignals
	var ids []int64
	opened := map[int64]bool{} // by an instance's record, just now
	for _, s := range sigs {
		if s.Incident != 0 {
			ids = append(ids, s.Incident)
		}
		if s.Kind == store.SignalChange {
			opened[s.Incident] = true
		}
	}
	// Incidents of a version without alerts are taken in first, so that
	// what people did to them since is applied to them.
	if err := p.adoptLegacy(opened); err != nil {
		return err
	}
	fresh := map[int64]store.Incident{}
	if len(ids) > 0 {
		ins, err := p.tx.Incidents(p.ctx, store.IncidentFilter{IDs: ids})
		if err != nil {
			return err
		}
		for _, in := range ins {
			fresh[in.ID] = in
		}
	}
	changed := false
	taken := make([]int64, 0, len(sigs))
	for _, s := range sigs {
		taken = append(taken, s.ID)
		if in, ok := fresh[s.Incident]; ok {
			if err := p.refresh(in); err != nil {
				return err
			}
			changed = true
		}
		switch s.Kind {
		case store.SignalChange:
			// A change that opens or resolves no incident is a check seen
			// for the first time: no flap, and at 100,000 checks a
			// timestamp each held for the window.
			if s.Incident == 0 {
				break
			}
			if err := p.flap(s.Check, s.At); err != nil {
				return err
			}
		case store.SignalAlert:
			if a := e.alerts[s.Alert]; a != nil {
				sa, err := p.tx.Alert(p.ctx, s.Alert)
				if err != nil {
					return err
				}
				a.AckAt, a.AckBy = sa.AckAt, sa.AckBy
				p.dirty[a.ID] = a
			}
		case store.SignalSilences:
			if e.silences, err = p.tx.Silences(p.ctx, p.now); err != nil {
				return err
			}
			for _, a := range e.alerts {
				p.dirty[a.ID] = a
			}
		}
	}
	if err := p.tx.TakeSignals(p.ctx, taken); err != nil {
		return err
	}
	if changed {
		return p.correlate()
	}
	return nil
}

// refresh applies what the store says of an incident: a new one joins its
// merchant's alert; one that ended leaves the open ones; an
// acknowledgement is taken into its alert.
func (p *pass) refresh(in store.Incident) error {
	e := p.e
	m := e.open[in.Check]
	if m == nil || m.incident != in.ID {
		m = e.memberOfAlert(in)
	}
	if m == nil {
		if !in.Open() || e.open[in.Check] != nil {
			return nil // ended before the decider saw it, or one is open
		}
		if err := e.loadOrigins(p.ctx, in.Check); err != nil {
			return err
		}
		m = memberOf(in)
		e.open[m.check] = m
		e.openVersion++
		if err := p.join(m); err != nil {
			return err
		}
		return p.inMaintenance(m)
	}
	wasOpen := m.isOpen()
	m.refresh(in)
	if wasOpen && !m.isOpen() && e.open[m.check] == m {
		delete(e.open, m.check)
		e.openVersion++
	}
	p.touch(m)
	return nil
}

// memberOfAlert finds incident in among the members of its open alert.
func (e *Engine) memberOfAlert(in store.Incident) *member {
	if a := e.alerts[in.Alert]; a != nil {
		for _, m := range a.members {
			if m.incident == in.ID {
				return m
			}
		}
	}
	return nil
}

// adoptLegacy gives the open incidents of a version without alerts an
// alert of their merchant's: they were announced when they were
// confirmed, with the first step of the policy. An incident in no alert
// that an instance opened just now (opened) is no such incident: its
// signal joins it to one.
func (p *pass) adoptLegacy(opened map[int64]bool) error {
	e := p.e
	for _, in := range e.orphans {
		if opened[in.ID] || e.open[in.Check] != nil {
			continue
		}
		m := memberOf(in)
		if m.announced.IsZero() {
			m.announced = in.Confirmed
			if err := p.tx.Announce(p.ctx, m.incident, in.Confirmed); err != nil {
				return err
			}
		}
		e.open[m.check] = m
		e.openVersion++
		if a := e.byMerchant[merchant(m.check)]; a != nil {
			a.members = append(a.members, m)
			p.dirty[a.ID] = a
			if err := p.tx.JoinAlert(p.ctx, m.incident, a.ID); err != nil {
				return err
			}
			continue
		}
		a := &alert{Alert: store.Alert{Scope: store.ScopeMerchant, Name: merchant(m.check), Opened: in.Confirmed,
			Base: in.Start, Step: 1, Triggered: in.Confirmed}, members: []*member{m}}
		if err := p.save(a); err != nil {
			return err
		}
	}
	e.orphans = nil
	return nil
}

// join puts a new incident in its merchant's open alert, or opens one
// that waits group_wait for more.
func (p *pass) join(m *member) error {
	e := p.e

	a := e.byMerchant[merchant(m.check)]
	if a == nil {
		a = &alert{Alert: store.Alert{Scope: store.ScopeMerchant, Name: merchant(m.check), Opened: p.now,
			FlushAt: p.now.Add(e.rules.GroupWait), Triggered: p.now}, known: true}
	}
	a.members = append(a.members, m)
	if a.ID == 0 {
		return p.save(a) // stored, and its members joined to it
	}
	p.dirty[a.ID] = a
	return p.tx.JoinAlert(p.ctx, m.incident, a.ID)
}

// save stores a; a new alert gets its ID, a place in memory, and its
// members joined to it.
func (p *pass) save(a *alert) error {
	isNew := a.ID == 0
	if err := p.tx.SaveAlert(p.ctx, &a.Alert); err != nil {
		return err
	}
	if !isNew {
		return nil
	}
	p.e.alerts[a.ID] = a
	p.dirty[a.ID] = a
	if a.Scope == store.ScopeProvider {
		p.e.byProvider[a.Name] = a
	} else {
		p.e.byMerchant[a.Name] = a
	}
	for _, m := range a.members {
		if err := p.tx.JoinAlert(p.ctx, m.incident, a.ID); err != nil {
			return err
		}
	}
	return nil
}

// touch marks the alert of m for settling.
func (p *pass) touch(m *member) {
	for _, a := range p.e.alerts {
		if slices.Contains(a.members, m) {
			p.dirty[a.ID] = a
			return
		}
	}
}

func (p *pass) event(incident int64, kind, detail string) error {
	return p.tx.AddEvent(p.ctx, store.Event{Incident: incident, At: p.now, Kind: kind, Detail: detail})
}

// settleDirty settles the alerts changed in this pass, providers first, in
// the order they opened.
func (p *pass) settleDirty() error {
	for len(p.dirty) > 0 {
		// In rounds: an alert settled may mark another, taken in the
		// next round. Sorting once a round, not once an alert, keeps a
		// provider's outage of thousands of alerts from costing their
		// square.
		ids := slices.Sorted(maps.Keys(p.dirty))
		slices.SortStableFunc(ids, func(a, b int64) int {
			pa, pb := p.dirty[a].Scope == store.ScopeProvider, p.dirty[b].Scope == store.ScopeProvider
			switch {
			case pa && !pb:
				return -1
			case pb && !pa:
				return 1
			}
			return 0
		})
		for _, id := range ids {
			a, ok := p.dirty[id]
			if !ok {
				continue
			}
			delete(p.dirty, id)
			var err error
			if a.Scope == store.ScopeProvider {
				err = p.settleProvider(a)
			} else {
				err = p.settle(a)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// settle brings a merchant's alert up to date: it announces the incidents
// no longer held, takes the escalation steps that fell due, re-triggers an
// acknowledgement that timed out, tells of changes by editing the alert's
// messages (or, where messages cannot be edited, by one new message), and
// closes the alert with a summary once every incident in it has ended.
func (p *pass) settle(a *alert) error {
	before := a.Alert
	if err := p.settleMerchant(a); err != nil {
		return err
	}
	if a.Alert != before {
		if err := p.save(a); err != nil {
			return err
		}
	}
	if !a.Closed.IsZero() {
		delete(p.e.alerts, a.ID)
		if p.e.byMerchant[a.Name] == a {
			delete(p.e.byMerchant, a.Name)
		}
	}
	return nil
}

func (p *pass) settleMerchant(a *alert) error {
	e, now := p.e, p.now
	flushing := false
	if !a.FlushAt.IsZero() {
		if now.Before(a.FlushAt) {
			a.NextAt = a.FlushAt
			return nil
		}
		a.FlushAt, flushing = time.Time{}, true
	}
	grew := false // a check joined an alert told before
	for _, m := range a.members {
		if !m.isOpen() || !m.announced.IsZero() {
			continue
		}
		if why := e.held(m.check, now, true); why != "" {
			if why != m.held {
				m.held = why
				if err := p.event(m.incident, "held", why); err != nil {
					return err
				}
			}
			continue
		}
		m.announced = now
		grew = grew || !a.Base.IsZero()
		if err := p.tx.Announce(p.ctx, m.incident, now); err != nil {
			return err
		}
	}
	var told []*member
	open := false
	for _, m := range a.members {
		if !m.announced.IsZero() {
			told = append(told, m)
		}
		open = open || m.isOpen()
	}
	if len(told) == 0 {
		// Everything is held: the holds' ends wake the engine.
		a.NextAt = time.Time{}
		if !open {
			a.Closed = now
		}
		return nil
	}
	policy := e.rules.policy(a.Name)
	if a.Step >= len(policy.Steps) {
		a.Step, a.Run = 0, a.Run+1 // the policy lost steps since the last run
	}
	if a.Base.IsZero() {
		// Steps count from the incident's start; after a hold, from
		// the moment the alert could first go out.
		a.Base = now
		if flushing {
			for _, m := range told {
				a.Base = minTime(a.Base, m.stepsFrom)
			}
		}
	}
	if !open {
		if err := p.tell(a, p.message(a, told, notifier.Resolved), true); err != nil {
			return err
		}
		a.Closed, a.NextAt = now, time.Time{}
		return nil
	}

	// The alert is acknowledged when every incident it told of and that
	// is still open is.
	// It escalates while one of them is neither acknowledged nor held by
	// a silence, a maintenance window or flapping.
	wasAcked := !a.AckAt.IsZero()
	var ackAt time.Time
	var ackBy string
	openTold, live := 0, 0
	acked := true
	for _, m := range told {
		if !m.isOpen() {
			continue
		}
		openTold++
		acked = acked && !m.ackAt.IsZero()
		if m.ackAt.After(ackAt) {
			ackAt, ackBy = m.ackAt, m.ackBy
		}
		if m.ackAt.IsZero() && e.held(m.check, now, true) == "" {
			live++
		}
	}
	if !acked || openTold == 0 {
		acked, ackAt, ackBy = false, time.Time{}, ""
	}
	a.AckAt, a.AckBy = ackAt, ackBy
	if wasAcked && !acked && live > 0 {
		// A check nobody has acknowledged joined an acknowledged alert:
		// its escalation starts over, from now, not from steps long past.
		a.Triggered, a.Base, a.Run, a.Step = now, now, 0, 0
	}

	var reason *notifier.Reason
	if acked && policy.AckTimeout.Duration > 0 && !now.Before(a.AckAt.Add(policy.AckTimeout.Duration)) {
		reason = &notifier.Reason{Code: notifier.AckTimeout, By: a.AckBy, Since: a.AckAt, After: policy.AckTimeout.Duration}
		note := fmt.Sprintf("acknowledged by %s at %s, still down after %s",
			a.AckBy, e.rules.clock(a.AckAt), notifier.Duration(policy.AckTimeout.Duration))
		for _, m := range told {
			if !m.isOpen() || m.ackAt.IsZero() {
				continue
			}
			if err := p.tx.Acknowledge(p.ctx, m.incident, "", now); err != nil {
				return err
			}
			if err := p.event(m.incident, "ack timeout", note); err != nil {
				return err
			}
			m.ackAt, m.ackBy = time.Time{}, ""
		}
		a.AckAt, a.AckBy, acked = time.Time{}, "", false
		a.Triggered, a.Base, a.Run, a.Step = now, now, 0, 0
		for _, m := range told {
			if m.isOpen() && e.held(m.check, now, true) == "" {
				live++
			}
		}
	}

	msg := p.message(a, told, notifier.Down)
	var dests, taken []string
	for live > 0 && a.Run <= policy.Repeat && !p.due(a).After(now) {
		step := policy.Steps[a.Step]
		for _, d := range p.targets(a, step.Notify) {
			if !slices.Contains(dests, d) {
				dests = append(dests, d)
			}
		}
		taken = append(taken, fmt.Sprintf("step %d of run %d (%s)", a.Step+1, a.Run+1, strings.Join(step.Notify, ", ")))
		if reason == nil && (a.Run > 0 || a.Step > 0) {
			reason = &notifier.Reason{Code: notifier.Escalated, Since: a.Base}
		}
		if a.Step++; a.Step == len(policy.Steps) {
			a.Step, a.Run = 0, a.Run+1
		}
	}
	a.NextAt = time.Time{}
	switch {
	case live > 0 && a.Run <= policy.Repeat:
		a.NextAt = p.due(a)
	case acked && policy.AckTimeout.Duration > 0:
		a.NextAt = a.AckAt.Add(policy.AckTimeout.Duration)
	}
	if len(dests) == 0 && toldOf(msg) == a.Told {
		return nil // nothing to send, nothing to edit
	}
	sends, err := p.alertSends(a)
	if err != nil {
		return err
	}
	if len(dests) > 0 {
		m := msg
		m.Reason = reason
		if err := p.send(a, m, dests, sends); err != nil {
			return err
		}
		for _, t := range told {
			if t.isOpen() {
				if err := p.event(t.incident, "notified", strings.Join(taken, "; ")+": "+strings.Join(dests, ", ")); err != nil {
					return err
				}
			}
		}
	}
	return p.update(a, msg, sends, dests, grew)
}

// due is when the alert's next escalation step falls due.
func (p *pass) due(a *alert) time.Time {
	policy := p.e.rules.policy(a.Name)
	return a.Base.Add(time.Duration(a.Run)*policy.Period() + policy.Steps[a.Step].After.Duration)
}

// targets are the destinations of an escalation step of a merchant's
// alert. Once the admins have the alert of the merchant's provider, they
// hear of its outage from it alone, not from every shop's (unless they
// are among the shop's owners).
func (p *pass) targets(a *alert, names []string) []string {
	dests := p.e.o.Router.Notify(a.Name, names)
	if prov := p.provider(a); prov != nil && !prov.Base.IsZero() {
		admins := p.e.o.Router.Admins()
		owners := p.e.o.Router.Notify(a.Name, []string{"owner"})
		dests = slices.DeleteFunc(dests, func(d string) bool { return slices.Contains(admins, d) && !slices.Contains(owners, d) })
	}
	return dests
}

// provider returns the open provider outage that takes in a check of a.
func (p *pass) provider(a *alert) *alert {
	for _, name := range slices.Sorted(maps.Keys(p.e.byProvider)) {
		prov, _ := p.e.rules.provider(name)
		for _, m := range a.members {
			if m.isOpen() && p.e.rules.inProvider(prov, m.check) {
				return p.e.byProvider[name]
			}
		}
	}
	return nil
}

// where is what each location sees of check now, when several probe it.
func (p *pass) where(check string) *notifier.Where {
	if p.e.o.Where == nil {
		return nil
	}
	return p.e.o.Where(check)
}

// message renders a merchant's alert: one check, or each of several.
func (p *pass) message(a *alert, told []*member, kind notifier.Kind) notifier.Message {
	m := notifier.Message{Kind: kind, Alert: a.ID, Merchant: a.Name, AckBy: a.AckBy, AckAt: a.AckAt}
	if prov := p.provider(a); prov != nil {
		pr, _ := p.e.rules.provider(prov.Name)
		count := p.e.downOf(pr)
		m.Provider = &notifier.ProviderOutage{Name: prov.Name, Down: count.down, Of: count.of, Since: prov.Since}
	}
	m.Silenced = p.silenced(told)
	if len(told) == 1 {
		t := told[0]
		m.Incident, m.Check, m.Start, m.End, m.Error, m.Failures = t.incident, t.check, t.start, t.end, t.err, t.failures
		if t.isOpen() {
			m.Where = p.where(t.check)
		}
		if o, ok := p.e.rules.origins.get(t.check); ok {
			m.Source, m.Title, m.Labels = o.Source, o.Title, o.Labels
		}
		if t.resolvedBy != "recovery" {
			m.ResolvedBy = t.resolvedBy
		}
		return m
	}
	m.Of = p.e.rules.Checks[a.Name]
	for _, t := range told {
		it := notifier.Item{Incident: t.incident, Check: t.check, Start: t.start, End: t.end, Error: t.err, AckBy: t.ackBy}
		if t.isOpen() {
			it.Where = p.where(t.check)
		}
		if o, ok := p.e.rules.origins.get(t.check); ok {
			it.Source, it.Title, it.Labels = o.Source, o.Title, o.Labels
		}
		m.Items = append(m.Items, it)
		if m.Start.IsZero() || t.start.Before(m.Start) {
			m.Start = t.start
		}
		m.End = maxTime(m.End, t.end)
	}
	return m
}

// silenced is the silence set by command that holds every open check of
// told, the one that runs longest; with several, until the first of them
// ends. Nil when a check is not silenced, or when the alert is closed.
func (p *pass) silenced(told []*member) *notifier.Silenced {
	var out *notifier.Silenced
	for _, t := range told {
		if !t.isOpen() {
			continue
		}
		best := p.longestSilence(func(target string) bool { return p.e.rules.Covers(target, t.check) })
		if best == nil {
			return nil
		}
		if out == nil || best.End.Before(out.Until) {
			out = &notifier.Silenced{By: best.By, Until: best.End}
		}
	}
	return out
}

// longestSilence is the silence set by command, in force now, whose
// target covers says covers what it must, that runs longest; nil if none.
func (p *pass) longestSilence(covers func(target string) bool) *store.Silence {
	var best *store.Silence
	for _, s := range p.e.activeSilences(p.now) {
		if s.ID != 0 && covers(s.Target) && (best == nil || s.End.After(best.End)) {
			best = &s
		}
	}
	return best
}

// silencedMark is the part of a message's fingerprint that says who
// silenced it and until when: an edit when it changes.
func silencedMark(s *notifier.Silenced) string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf(" silenced:%s:%d", s.By, s.Until.Unix())
}

// fingerprint says what a message says, in two parts: the checks and
// their states, and who acknowledged or silenced them.
func fingerprint(m notifier.Message) (state, ack string) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d %v", m.Kind, m.Incident, m.End.IsZero())
	for _, it := range m.Items {
		fmt.Fprintf(&b, " %d:%v", it.Incident, it.End.IsZero())
	}
	if m.Provider != nil {
		fmt.Fprintf(&b, " provider:%s", m.Provider.Name)
	}
	ack = m.AckBy
	for _, it := range m.Items {
		ack += "," + it.AckBy
	}
	ack += silencedMark(m.Silenced)
	return b.String(), ack
}

// toldOf is the fingerprint an alert keeps once m is what its messages say.
func toldOf(m notifier.Message) string {
	state, ack := fingerprint(m)
	return state + "|" + ack
}

// send enqueues m as a new message to each of dests; a destination that
// has had a message of the alert gets the new one as a follow-up of the
// first (in its thread, in Slack).
func (p *pass) send(a *alert, m notifier.Message, dests []string, sends []store.OutboxItem) error {
	payload, err := notifier.Encode(m)
	if err != nil {
		return err
	}
	var items []store.OutboxItem
	for _, d := range dests {
		items = append(items, store.OutboxItem{CreatedAt: p.now, Destination: d, Alert: a.ID, Incident: m.Incident,
			Op: "send", Ref: firstTo(sends, d), Payload: payload})
	}
	p.sent = p.sent || len(items) > 0
	if err := p.tx.Enqueue(p.ctx, items); err != nil {
		return err
	}
	if a.known {
		a.sends = append(a.sends, items...)
	}
	return nil
}

// edit enqueues edits of every message of the alert sent to dest.
func (p *pass) edit(a *alert, m notifier.Message, dest string, sends []store.OutboxItem) error {
	payload, err := notifier.Encode(m)
	if err != nil {
		return err
	}
	var items []store.OutboxItem
	for _, s := range sends {
		if s.Destination == dest {
			items = append(items, store.OutboxItem{CreatedAt: p.now, Destination: dest, Alert: a.ID, Incident: m.Incident,
				Op: "edit", Ref: s.ID, Payload: payload})
		}
	}
	p.sent = p.sent || len(items) > 0
	return p.tx.Enqueue(p.ctx, items)
}

// update tells the destinations that already have the alert's messages
// what changed since: edits where the platform can edit; and a new message
// when another check went down (an edit makes no sound), or where the
// platform cannot edit and the checks' states changed. dests got the news
// in a new message just now.
func (p *pass) update(a *alert, m notifier.Message, sends []store.OutboxItem, dests []string, grew bool) error {
	told := toldOf(m)
	if told == a.Told {
		return nil
	}
	state, _, _ := strings.Cut(told, "|")
	oldState, _, _ := strings.Cut(a.Told, "|")
	a.Told = told
	for _, d := range destinations(sends) {
		editable := p.e.o.Router.Editable(d)
		if editable {
			// Those sent before a new one, too: they must not offer a
			// button that no longer applies.
			if err := p.edit(a, m, d, sends); err != nil {
				return err
			}
		}
		if slices.Contains(dests, d) || !(grew || (!editable && state != oldState)) {
			continue
		}
		if err := p.send(a, m, []string{d}, sends); err != nil {
			return err
		}
	}
	return nil
}

// tell sends m to every destination that has had the alert's messages:
// the edits of those messages, and with news, a new message after them.
func (p *pass) tell(a *alert, m notifier.Message, news bool) error {
	sends, err := p.alertSends(a)
	if err != nil {
		return err
	}
	for _, d := range destinations(sends) {
		if p.e.o.Router.Editable(d) {
			if err := p.edit(a, m, d, sends); err != nil {
				return err
			}
		}
		if news {
			if err := p.send(a, m, []string{d}, sends); err != nil {
				return err
			}
		}
	}
	a.Told = toldOf(m)
	return nil
}

// destinations lists the destinations of sends, in the order they were
// first sent to.
func destinations(sends []store.OutboxItem) []string {
	var out []string
	for _, s := range sends {
		if !slices.Contains(out, s.Destination) {
			out = append(out, s.Destination)
		}
	}
	return out
}

func firstTo(sends []store.OutboxItem, dest string) int64 {
	for _, s := range sends {
		if s.Destination == dest {
			return s.ID
		}
	}
	return 0
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
