package main

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hostwatch/hostwatch/agent"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/quorum"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/web"
)

// places wires where checks are probed from: which of them this process
// probes, and, when agents probe too, the combiner their results and this
// process's go through on the way to the engine, and the agents' endpoint.
type places struct {
	cfg      *config.Config
	all      []*config.Check
	here     string
	byPlace  map[string][]*config.Check
	combiner *quorum.Combiner // nil when this process probes alone, without canaries
	detector *quorum.Detector
	canaries []*config.Check
	server   *agent.Server
	now      func() time.Time
}

// newPlaces sorts all checks by location.
func newPlaces(cfg *config.Config, all []*config.Check) *places {
	p := &places{cfg: cfg, all: all, here: cfg.Here(), byPlace: map[string][]*config.Check{}}
	if len(cfg.Agents) == 0 {
		// No other location: every check is probed here (the
		// configuration names no location it does not know).
		p.byPlace[p.here] = all
		return p
	}
	for _, c := range all {
		for _, l := range p.of(c) {
			p.byPlace[l] = append(p.byPlace[l], c)
		}
	}
	return p
}

// join connects the places to the engine, given the checks' saved states.
// With no agent and no canary configured, every check is this process's
// and its observations go straight to engine. admins is told of a
// location cut off, and back.
func (p *places) join(engine monitor.Sink, states map[string]store.CheckState,
	admins func(notifier.Message), now func() time.Time, log *slog.Logger, reg prometheus.Registerer) error {
	p.now = now
	cfg, all := p.cfg, p.all
	if len(cfg.Agents) == 0 && len(cfg.Canaries) == 0 {
		return nil
	}
	p.canaries = cfg.CanaryChecks()
	p.detector = quorum.NewDetector(quorum.DetectorOptions{Ratio: cfg.Isolation.Ratio, Canaries: len(p.canaries),
		Group: groupOf(cfg), Now: now, Told: func(c quorum.Cut) {
			log.Warn(c.Say(), "location", c.Location)
			m := notifier.Message{Kind: notifier.LocationCut, Location: c.Location, Share: int(c.Share*100 + 0.5), Since: c.Since, At: c.At}
			switch {
			case c.Silent:
				m.Share, m.Why = 0, "silent"
			case c.Canaries:
				m.Share, m.Why = 0, "canaries"
			default:
				m.Why = "checks"
			}
			if !c.Cut {
				m.Kind, m.Share = notifier.LocationBack, 0
			}
			admins(m)
		}})
	q := cfg.Defaults.Confirm.Locations
	p.combiner = quorum.New(quorum.Options{Next: engine, Rule: quorum.Rule{Locations: q.N, Majority: q.Majority}, Self: p.here,
		Checks: all, Locations: p.of, States: states, Detector: p.detector, Every: len(p.canaries) > 0})
	if len(cfg.Agents) == 0 {
		return nil
	}
	results := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hostwatch_location_results_total", Help: "Probe results received from agents, by location and result (ok or fail).",
	}, []string{"location", "result"})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hostwatch_agent_results_dropped_total", Help: "Results an agent dropped because its buffer was full while the server was out of its reach, as it reported them.",
	}, []string{"agent"})
	up := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "hostwatch_location_up", Help: "1 when the location is heard from: this process's always, an agent's when one of its agents sent a request within isolation.silence.",
	}, []string{"location"})
	p.server = agent.NewServer(agent.ServerOptions{Agents: agentsOf{cfg}, Checks: p, Sink: resultSink{p, results, dropped},
		Now: now, Logger: log})
	for _, c := range []prometheus.Collector{results, dropped, locationUp{p, up}} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// watch tells the detector which locations have gone unheard from: none
// of their agents sent a request within isolation.silence, counted from
// the start for an agent not heard from yet.
func (p *places) watch(ctx context.Context) {
	start := p.now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		heard := p.server.Heard()
		last := map[string]time.Time{}
		for _, a := range p.cfg.Agents {
			t := start
			if h, ok := heard[a.Name]; ok && h.After(t) {
				t = h
			}
			if t.After(last[a.Location]) {
				last[a.Location] = t
			}
		}
		for loc, t := range last {
			p.detector.Silent(loc, p.now().Sub(t) > p.cfg.Isolation.Silence.Duration, t)
		}
	}
}

// merge gives local, this process's statuses, with what the other
// locations see: every check in the configuration's order, the state of
// one probed from several places theirs combined, and what each sees.
func (p *places) merge(local []monitor.Status) []monitor.Status {
	if p.combiner == nil {
		return local
	}
	byID := make(map[string]int, len(local))
	for i, s := range local {
		byID[s.Check.ID] = i
	}
	out := make([]monitor.Status, 0, len(p.all))
	for _, c := range p.all {
		st := monitor.Status{Check: c, Owned: true}
		if i, ok := byID[c.ID]; ok {
			st = local[i]
		}
		if state, views, ok := p.combiner.State(c.ID); ok {
			st.State = state
			for _, v := range views {
				st.Seen = append(st.Seen, monitor.Seen{Location: v.Location, State: v.State.State, Cut: p.detector.Isolated(v.Location)})
				if v.LastAt.After(st.LastAt) {
					st.LastAt, st.Last = v.LastAt, v.Last
				}
			}
		}
		out = append(out, st)
	}
	return out
}

// where is what each location sees of check id now, for its messages;
// nil for a check probed here alone.
func (p *places) where(id string) *notifier.Where {
	if p == nil || p.combiner == nil {
		return nil
	}
	v, ok := p.combiner.Verdict(id)
	if !ok || v.Of < 2 {
		return nil
	}
	return &notifier.Where{Down: v.Down, Up: v.Up, Cut: v.Isolated, Of: v.Of}
}

// of are the locations check c is probed from: a heartbeat, pinged here,
// is this process's alone.
func (p *places) of(c *config.Check) []string {
	if c.Heartbeat != nil {
		return []string{p.here}
	}
	return p.cfg.PlacesOf(c)
}

// local are the checks this process probes.
func (p *places) local() []*config.Check { return p.byPlace[p.here] }

// sink is where this process's observations go.
func (p *places) sink(engine monitor.Sink) monitor.Sink {
	if p.combiner == nil {
		return engine
	}
	return p.combiner
}

// Version is the same for the life of a generation: a reload builds a new
// one, whose answers the agents see by their ETag.
func (p *places) Version() string { return "" }

// Checks are the checks location probes, and the canaries.
func (p *places) Checks(location string) []*config.Check {
	var out []*config.Check
	for _, c := range p.byPlace[location] {
		if c.Heartbeat == nil {
			out = append(out, c)
		}
	}
	return append(out, p.canaries...)
}

// Observe takes the results of this process's canaries.
func (p *places) Observe(o monitor.Observation) {
	p.detector.Canary(p.here, o.Check.ID, o.Result.OK)
}

// groupOf names what a check shares its fate with: its provider, or, in
// none, the host it probes.
func groupOf(cfg *config.Config) func(string) string {
	group := map[string]string{}
	for _, pr := range cfg.Providers {
		for _, id := range cfg.Matching(pr.Match) {
			if _, ok := group[id]; !ok {
				group[id] = "provider:" + pr.Name
			}
		}
	}
	for _, c := range cfg.Checks() {
		if _, ok := group[c.ID]; ok {
			continue
		}
		var addr string
		switch {
		case c.HTTP != nil:
			if u, err := url.Parse(c.HTTP.URL); err == nil {
				addr = u.Host
			}
		case c.TCP != nil:
			addr = c.TCP.Address
		case c.TLS != nil:
			addr = c.TLS.Address
		case c.DNS != nil:
			addr = c.DNS.Name
		}
		if host, _, err := net.SplitHostPort(addr); err == nil {
			addr = host
		}
		group[c.ID] = "host:" + addr
	}
	return func(id string) string { return group[id] }
}

// locations lists every location for /api/v1/locations.
func (p *places) locations() []web.LocationJSON {
	heard := map[string]time.Time{}
	if p.server != nil {
		heard = p.server.Heard()
	}
	var out []web.LocationJSON
	for _, l := range p.cfg.Places() {
		lj := web.LocationJSON{Location: l, Self: l == p.here, Up: l == p.here, Checks: len(p.Checks(l))}
		for _, a := range p.cfg.Agents {
			if a.Location != l {
				continue
			}
			aj := web.AgentJSON{Name: a.Name}
			if t, ok := heard[a.Name]; ok {
				aj.Seen = &t
				lj.Up = lj.Up || p.now().Sub(t) <= p.cfg.Isolation.Silence.Duration
			}
			lj.Agents = append(lj.Agents, aj)
		}
		out = append(out, lj)
	}
	return out
}

// agentsOf are the agents of the configuration.
type agentsOf struct{ cfg *config.Config }

func (a agentsOf) Agents(location string) []agent.Agent {
	var out []agent.Agent
	for _, ag := range a.cfg.Agents {
		if ag.Location == location {
			out = append(out, agent.Agent{Name: ag.Name, Location: ag.Location, Token: ag.Token})
		}
	}
	return out
}

// resultSink takes the agents' results into the combiner, in the order
// they were probed.
type resultSink struct {
	p                *places
	results, dropped *prometheus.CounterVec
}

func (s resultSink) Results(ctx context.Context, a agent.Agent, b agent.Batch) error {
	if b.Dropped > 0 {
		s.dropped.WithLabelValues(a.Name).Add(float64(b.Dropped))
	}
	rs := slices.Clone(b.Results)
	slices.SortStableFunc(rs, func(x, y agent.Result) int { return x.Start.Compare(y.Start) })
	for _, r := range rs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(r.Check, config.CanaryPrefix) {
			s.p.detector.Canary(a.Location, r.Check, r.OK)
			continue
		}
		if !s.p.combiner.Probed(a.Location, r.Check, r.Start, r.Checks()) {
			continue // taken off the location by a reload meanwhile
		}
		result := "ok"
		if !r.OK {
			result = "fail"
		}
		s.results.WithLabelValues(a.Location, result).Inc()
	}
	return nil
}

// locationUp serves hostwatch_location_up as the locations are now.
type locationUp struct {
	p  *places
	up *prometheus.GaugeVec
}

func (l locationUp) Describe(ch chan<- *prometheus.Desc) { l.up.Describe(ch) }

func (l locationUp) Collect(ch chan<- prometheus.Metric) {
	for _, lj := range l.p.locations() {
		v := 0.0
		if lj.Up {
			v = 1
		}
		l.up.WithLabelValues(lj.Location).Set(v)
	}
	l.up.Collect(ch)
}
