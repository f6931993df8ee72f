package incident

import (
	"sync"
	"time"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/store"
)

type statKey struct {
	check  string
	period int64 // Unix seconds of the hour
}

// aggregator sums probes per check and hour in memory between writes.
type aggregator struct {
	mu sync.Mutex
	m  map[statKey]*store.Stat
}

func newAggregator() *aggregator {
	return &aggregator{m: map[statKey]*store.Stat{}}
}

func (a *aggregator) add(check string, at time.Time, r checks.Result) {
	s := store.Stat{Check: check, Period: at.Truncate(time.Hour), LatencySum: r.Latency, LatencyMax: r.Latency}
	if r.OK {
		s.OK = 1
	} else {
		s.Failed = 1
	}
	a.mu.Lock()
	a.merge(s)
	a.mu.Unlock()
}

// merge adds s to the sums; a.mu is held.
func (a *aggregator) merge(s store.Stat) {
	k := statKey{s.Check, s.Period.Unix()}
	cur := a.m[k]
	if cur == nil {
		a.m[k] = &s
		return
	}
	cur.OK += s.OK
	cur.Failed += s.Failed
	cur.LatencySum += s.LatencySum
	cur.LatencyMax = max(cur.LatencyMax, s.LatencyMax)
}

// take empties the aggregator and returns what it held.
func (a *aggregator) take() []store.Stat {
	a.mu.Lock()
	m := a.m
	a.m = make(map[statKey]*store.Stat, len(m))
	a.mu.Unlock()
	out := make([]store.Stat, 0, len(m))
	for _, s := range m {
		out = append(out, *s)
	}
	return out
}

// putBack returns stats that could not be written, to be tried again.
func (a *aggregator) putBack(ss []store.Stat) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range ss {
		a.merge(s)
	}
}
