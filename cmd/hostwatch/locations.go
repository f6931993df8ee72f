package main

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hostwatch/hostwatch/agent"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/quorum"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/web"
)

// heardWithin is how lately an agent must have been heard from for its
// location to count as up: it sends its results every second and asks
// for its checks every 30 s.
const heardWithin = time.Minute

// places wires where checks are probed from: which of them this process
// probes, and, when agents probe too, the combiner their results and this
// process's go through on the way to the engine, and the agents' endpoint.
type places struct {
	cfg      *config.Config
	here     string
	byPlace  map[string][]*config.Check
	combiner *quorum.Combiner // nil when this process probes alone
	server   *agent.Server
	now      func() time.Time
}

// newPlaces sorts all checks by location. With no agent configured, every
// check is this process's and its observations go straight to engine.
func newPlaces(cfg *config.Config, all []*config.Check, engine monitor.Sink, states map[string]store.CheckState,
	now func() time.Time, log *slog.Logger, reg prometheus.Registerer) (*places, error) {
	p := &places{cfg: cfg, here: cfg.Here(), byPlace: map[string][]*config.Check{}, now: now}
	for _, c := range all {
		if c.Heartbeat != nil {
			p.byPlace[p.here] = append(p.byPlace[p.here], c) // pinged here, not probed
			continue
		}
		for _, l := range cfg.PlacesOf(c) {
			p.byPlace[l] = append(p.byPlace[l], c)
		}
	}
	if len(cfg.Agents) == 0 {
		return p, nil
	}
	q := cfg.Defaults.Confirm.Locations
	p.combiner = quorum.New(quorum.Options{Next: engine, Rule: quorum.Rule{Locations: q.N, Majority: q.Majority}, Self: p.here,
		Checks: all, Locations: func(c *config.Check) []string {
			if c.Heartbeat != nil {
				return []string{p.here}
			}
			return cfg.PlacesOf(c)
		}, States: states})
	results := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hostwatch_location_results_total", Help: "Probe results received from agents, by location and result (ok or fail).",
	}, []string{"location", "result"})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hostwatch_agent_results_dropped_total", Help: "Results an agent dropped because its buffer was full while the server was out of its reach, as it reported them.",
	}, []string{"agent"})
	up := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "hostwatch_location_up", Help: "1 when the location was heard from within the last minute: this process's always, an agent's when one of its agents sent a request.",
	}, []string{"location"})
	p.server = agent.NewServer(agent.ServerOptions{Agents: agentsOf{cfg}, Checks: p, Sink: resultSink{p, results, dropped},
		Now: now, Logger: log})
	for _, c := range []prometheus.Collector{results, dropped, locationUp{p, up}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return p, nil
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

// Checks are the checks location probes.
func (p *places) Checks(location string) []*config.Check {
	var out []*config.Check
	for _, c := range p.byPlace[location] {
		if c.Heartbeat == nil {
			out = append(out, c)
		}
	}
	return out
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
				lj.Up = lj.Up || p.now().Sub(t) < heardWithin
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
