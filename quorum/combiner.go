package quorum

import (
	"sync"
	"time"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/store"
)

// Combiner stands between the places that probe and the incident engine.
// An observation of a check probed from one place only goes through as it
// is. One of a check probed from several places counts for its location,
// and the engine sees the check's state as the quorum decides it: the
// failure says where it was seen from, and the change of state happens
// when enough locations agree.
type Combiner struct {
	next     monitor.Sink
	rule     Rule
	self     string
	isolated func(string) bool
	detector *Detector

	mu     sync.Mutex
	checks map[string]*placed
}

// placed is a check probed from several locations, or from another one
// than this process.
type placed struct {
	cfg   *config.Check
	views []View // one per location, in the check's order
	state store.CheckState
}

// Options are what a Combiner needs.
type Options struct {
	// Next takes the observations, combined.
	Next monitor.Sink
	Rule Rule
	// Self is the location this process probes from.
	Self string
	// Checks are every check; Locations says where each is probed from.
	// Those probed from Self alone go through untouched.
	Checks    []*config.Check
	Locations func(*config.Check) []string
	// States are the checks' saved states, by ID: what the engine knew.
	States map[string]store.CheckState
	// Detector finds the locations cut off, whose results do not count;
	// nil for none. With Every, the checks probed here alone are
	// combined too, so that a cut-off process holds their outages.
	Detector *Detector
	Every    bool
}

// New builds a Combiner.
func New(o Options) *Combiner {
	c := &Combiner{next: o.Next, rule: o.Rule, self: o.Self, detector: o.Detector, checks: map[string]*placed{}}
	if o.Detector != nil {
		c.isolated = o.Detector.Isolated
	}
	for _, ch := range o.Checks {
		locs := o.Locations(ch)
		if len(locs) == 1 && locs[0] == o.Self && !o.Every {
			continue
		}
		p := &placed{cfg: ch, state: store.CheckState{Check: ch.ID, State: store.Unknown}}
		if s, ok := o.States[ch.ID]; ok {
			p.state = s
		}
		for _, l := range locs {
			p.views = append(p.views, View{Location: l, State: store.CheckState{Check: ch.ID, State: store.Unknown}})
		}
		c.checks[ch.ID] = p
	}
	return c
}

// Observe takes an observation of this process's own probes.
func (c *Combiner) Observe(o monitor.Observation) {
	if c.detector != nil {
		c.detector.Result(c.self, o.Check.ID, o.At, o.State.State != store.Down)
	}
	c.mu.Lock()
	p := c.checks[o.Check.ID]
	if p != nil {
		o = c.combine(p, c.self, o)
	}
	c.mu.Unlock()
	c.next.Observe(o)
}

// Probed takes a probe of check id that location ran at at: down_after
// and up_after are applied to that location's probes, and the check's
// combined state follows. A result not later than the last taken from
// the location is one sent again, and left out. It reports false for a
// check the location does not probe.
func (c *Combiner) Probed(location, id string, at time.Time, r checks.Result) bool {
	c.mu.Lock()
	p := c.checks[id]
	i := p.index(location)
	if i < 0 {
		c.mu.Unlock()
		return false
	}
	if !at.After(p.views[i].LastAt) {
		// A batch sent again whose answer was lost, or a result older
		// than one taken: counted once, in order.
		c.mu.Unlock()
		return true
	}
	if c.detector.Held(location, at) {
		// Probed while the location was cut off, sent once it was back:
		// recorded with its time, but it decides nothing.
		p.views[i].LastAt = at
		if !r.OK {
			r.Error = "from " + location + ", cut off then: " + r.Error
		}
		o := monitor.Observation{Check: p.cfg, At: at, Result: r, State: p.state}
		c.mu.Unlock()
		c.next.Observe(o)
		return true
	}
	s := p.views[i].State
	change, steady := monitor.Apply(&s, p.cfg, at, r.OK)
	if c.detector != nil {
		c.detector.Result(location, id, at, s.State != store.Down)
	}
	o := c.combine(p, location, monitor.Observation{Check: p.cfg, At: at, Result: r, State: s, Change: change, Steady: steady})
	c.mu.Unlock()
	c.next.Observe(o)
	return true
}

// Verdict is check id's state as its locations see it now; false for a
// check probed from this process alone.
func (c *Combiner) Verdict(id string) (Verdict, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.checks[id]
	if p == nil {
		return Verdict{}, false
	}
	return Decide(c.rule, p.views, c.isolated), true
}

// State is check id's state as the engine has it, combined from its
// locations, and what each location sees of it; false for a check probed
// from this process alone.
func (c *Combiner) State(id string) (store.CheckState, []View, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.checks[id]
	if p == nil {
		return store.CheckState{}, nil, false
	}
	return p.state, append([]View(nil), p.views...), true
}

func (p *placed) index(location string) int {
	if p == nil {
		return -1
	}
	for i, v := range p.views {
		if v.Location == location {
			return i
		}
	}
	return -1
}

// combine counts o, an observation from location, in p's view from there,
// and returns it as the engine is to see it. c.mu is held.
func (c *Combiner) combine(p *placed, location string, o monitor.Observation) monitor.Observation {
	i := p.index(location)
	if i < 0 {
		return o // a location the check is no longer placed at
	}
	p.views[i].State, p.views[i].Last, p.views[i].LastAt = o.State, o.Result, o.At
	v := Decide(c.rule, p.views, c.isolated)

	from := p.state.State
	to := from
	switch {
	case v.IsDown():
		to = store.Down
	case len(v.Down)+len(v.Up) == 0:
		// Seen from nowhere that counts (every location that probed it
		// is cut off): held as it was until one counts again.
	case len(v.Up) > 0 || from == store.Down:
		to = store.Up
	}
	// The record keeps the location's own run, under the check's state.
	own := o.State
	st := o.State
	st.Check, st.State, st.Since = p.cfg.ID, to, p.state.Since
	if st.First.IsZero() || (!p.state.First.IsZero() && p.state.First.Before(st.First)) {
		st.First = p.state.First
	}
	o.Change, o.Steady = nil, o.Steady && from == to && to == store.Up
	if to != from {
		st.Since = o.At
		if to == store.Down {
			st.Since = v.Since
		} else if own.State == store.Up {
			st.Since = own.Since
		}
		o.Change = &monitor.Change{From: from, To: to, Since: st.Since}
	}
	// A failure says where it was seen from; the one that changes the
	// check's state, where each location stood then, for the record.
	if !o.Result.OK {
		o.Result.Error = "from " + location + ": " + o.Result.Error
		if o.Change != nil || len(v.Isolated) > 0 {
			o.Result.Error = v.Summary() + "; " + o.Result.Error
		}
	} else if o.Change != nil && from == store.Down {
		o.Result.Evidence = v.Summary() + "; " + o.Result.Evidence
	}
	p.state = st
	o.State = st
	return o
}
