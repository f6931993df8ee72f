package incident

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/store"
)

type statKey struct {
	check  string
	period int64 // Unix seconds of the hour
}

// sums are one check's probes in one hour. They are held by value: at
// 100,000 checks a pointer per entry would be 100,000 more objects for the
// collector to trace.
type sums struct {
	ok, failed             int
	latencySum, latencyMax time.Duration
}

// aggregator sums probes per check and hour in memory between writes.
type aggregator struct {
	mu sync.Mutex
	m  map[statKey]sums
}

func newAggregator() *aggregator {
	return &aggregator{m: map[statKey]sums{}}
}

func (a *aggregator) add(check string, at time.Time, r checks.Result) {
	s := sums{latencySum: r.Latency, latencyMax: r.Latency}
	if r.OK {
		s.ok = 1
	} else {
		s.failed = 1
	}
	k := statKey{check, at.Truncate(time.Hour).Unix()}
	a.mu.Lock()
	a.merge(k, s)
	a.mu.Unlock()
}

// merge adds s to the sums of k; a.mu is held.
func (a *aggregator) merge(k statKey, s sums) {
	if cur, ok := a.m[k]; ok {
		s.ok += cur.ok
		s.failed += cur.failed
		s.latencySum += cur.latencySum
		s.latencyMax = max(cur.latencyMax, s.latencyMax)
	}
	a.m[k] = s
}

// take empties the aggregator and returns what it held. The next map is
// not sized after this one: it grows back over the next interval, and
// sizing it now would hold both at their full size while the batch is
// written.
func (a *aggregator) take() []store.Stat {
	a.mu.Lock()
	m := a.m
	a.m = map[statKey]sums{}
	a.mu.Unlock()
	out := make([]store.Stat, 0, len(m))
	for k, s := range m {
		out = append(out, store.Stat{Check: k.check, Period: time.Unix(k.period, 0), OK: s.ok, Failed: s.failed,
			LatencySum: s.latencySum, LatencyMax: s.latencyMax})
	}
	// In one order on every instance: two instances that both probed a
	// check within the hour (it was handed over) update its row, and
	// rows taken in different orders could deadlock.
	slices.SortFunc(out, func(a, b store.Stat) int {
		return cmp.Or(strings.Compare(a.Check, b.Check), a.Period.Compare(b.Period))
	})
	return out
}

// putBack returns stats that could not be written, to be tried again.
func (a *aggregator) putBack(ss []store.Stat) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range ss {
		a.merge(statKey{s.Check, s.Period.Unix()}, sums{ok: s.OK, failed: s.Failed, latencySum: s.LatencySum, latencyMax: s.LatencyMax})
	}
}
