// Package agenttest is what a hostwatch server supplies to agent.Server,
// in memory, for tests: the agents it knows, the checks of each location,
// and a sink that records the batches taken and can be told to fail.
package agenttest

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/agent"
	"github.com/hostwatch/hostwatch/config"
)

// Taken is a batch the sink took, and from whom.
type Taken struct {
	Agent agent.Agent
	Batch agent.Batch
}

// Supply implements agent.Agents, agent.Assigned and agent.Sink.
type Supply struct {
	mu      sync.Mutex
	agents  []agent.Agent
	checks  map[string][]*config.Check
	version int
	taken   []Taken
	fail    error
}

// New is a supply that knows agents and assigns no checks.
func New(agents ...agent.Agent) *Supply {
	return &Supply{agents: agents, checks: map[string][]*config.Check{}}
}

// Agents lists the agents of location.
func (s *Supply) Agents(location string) []agent.Agent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []agent.Agent
	for _, a := range s.agents {
		if a.Location == location {
			out = append(out, a)
		}
	}
	return out
}

// SetAgents replaces the agents known, as a reload would.
func (s *Supply) SetAgents(agents ...agent.Agent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agents = agents
}

// Version changes at each SetChecks.
func (s *Supply) Version() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strconv.Itoa(s.version)
}

// Checks lists the checks of location.
func (s *Supply) Checks(location string) []*config.Check {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.checks[location])
}

// SetChecks assigns cs to location, as a reload would.
func (s *Supply) SetChecks(location string, cs ...*config.Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[location] = cs
	s.version++
}

// ErrDown is what the sink answers while told to fail.
var ErrDown = errors.New("agenttest: the store is down")

// Fail makes the sink refuse every batch while on.
func (s *Supply) Fail(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = nil
	if on {
		s.fail = ErrDown
	}
}

// Results records a batch, or fails.
func (s *Supply) Results(_ context.Context, a agent.Agent, b agent.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	b.Results = slices.Clone(b.Results)
	s.taken = append(s.taken, Taken{Agent: a, Batch: b})
	return nil
}

// Taken lists the batches taken, in order.
func (s *Supply) Taken() []Taken {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.taken)
}

// All lists every result taken, in order, and the sum of the counts
// of those dropped.
func (s *Supply) All() ([]agent.Result, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []agent.Result
	var dropped int64
	for _, t := range s.taken {
		out = append(out, t.Batch.Results...)
		dropped += t.Batch.Dropped
	}
	return out, dropped
}

// Check is a check of id as the daemon has it after Load: schedule parsed,
// timeout set. probe sets its kind: a *config.TCPCheck, *config.HTTPCheck,
// *config.DNSCheck or *config.TLSCheck.
func Check(t testing.TB, id, schedule string, timeout time.Duration, probe any) *config.Check {
	t.Helper()
	s, err := config.CronParser.Parse(schedule)
	if err != nil {
		t.Fatalf("check %s: %v", id, err)
	}
	c := &config.Check{ID: id, Name: id, Schedule: schedule, Cron: s, Timeout: config.Duration{Duration: timeout}}
	switch p := probe.(type) {
	case *config.TCPCheck:
		c.TCP = p
	case *config.HTTPCheck:
		c.HTTP = p
	case *config.DNSCheck:
		c.DNS = p
	case *config.TLSCheck:
		c.TLS = p
	case *config.HeartbeatCheck:
		c.Heartbeat = p
	default:
		t.Fatalf("check %s: %T is not a probe", id, probe)
	}
	return c
}
