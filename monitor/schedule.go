package monitor

import (
	"cmp"
	"container/heap"
	"slices"
	"time"

	"github.com/robfig/cron/v3"
)

// maxSpread bounds how far a check is moved from its cron time: a check
// scheduled "at the top of the hour" runs within the first minute of it.
// @every schedules have no time of their own and spread over the interval.
const maxSpread = time.Minute

// spread shifts a schedule by a fixed offset, so that checks sharing a
// schedule start at different moments instead of in the same millisecond.
type spread struct {
	cron.Schedule
	offset time.Duration
}

func (s spread) Next(t time.Time) time.Time {
	return s.Schedule.Next(t.Add(-s.offset)).Add(s.offset)
}

// first is when a check runs first after start: at its offset, within one
// interval, and never in the past, so that a start does not fire every check
// whose slot of the current second has gone by at once.
func (s spread) first(now time.Time) time.Time {
	c, ok := s.Schedule.(cron.ConstantDelaySchedule)
	if !ok {
		return s.Next(now)
	}
	t := now.Truncate(time.Second).Add(s.offset)
	if t.Before(now) {
		t = t.Add(c.Delay)
	}
	return t
}

// interval estimates the time between two runs of a schedule.
func interval(s cron.Schedule, from time.Time) time.Duration {
	if c, ok := s.(cron.ConstantDelaySchedule); ok {
		return c.Delay
	}
	a := s.Next(from)
	return s.Next(a).Sub(a)
}

// spreadOffsets gives each of n checks that share one schedule its offset:
// evenly over the interval (at most maxSpread), in an order fixed by the
// checks' names so that the same config spreads the same way every start.
func spreadOffsets(s cron.Schedule, names []string, now time.Time) []time.Duration {
	window := interval(s, now)
	if _, every := s.(cron.ConstantDelaySchedule); !every {
		window = min(window, maxSpread)
	}
	// Sorted by hash, and by name where two hashes are equal; the pairs
	// sort in place, with no lookup through the names at each step.
	type keyed struct {
		key uint64
		i   int
	}
	order := make([]keyed, len(names))
	for i, name := range names {
		order[i] = keyed{fnv64a(name), i}
	}
	slices.SortFunc(order, func(a, b keyed) int {
		if a.key != b.key {
			return cmp.Compare(a.key, b.key)
		}
		return cmp.Compare(names[a.i], names[b.i])
	})
	out := make([]time.Duration, len(names))
	for slot, k := range order {
		out[k.i] = window * time.Duration(slot) / time.Duration(len(names))
	}
	return out
}

// fnv64a is FNV-1a of s, as hash/fnv's New64a sums it, without its
// allocation per name.
func fnv64a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// schedule is w's schedule, shifted by its offset.
func (w *watched) schedule() spread { return spread{Schedule: w.cfg.Cron, offset: w.offset} }

// queue is a min-heap of checks by when they are due: taking the next due
// check is O(log n), where robfig/cron's own runner re-sorts every entry
// each time one fires.
type queue []*watched

func (q queue) head() time.Time    { return time.Unix(0, q[0].due) }
func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].due < q[j].due }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = int32(i), int32(j)
}
func (q *queue) Push(x any) {
	w := x.(*watched)
	w.index = int32(len(*q))
	*q = append(*q, w)
}
func (q *queue) Pop() any {
	old := *q
	w := old[len(old)-1]
	*q = old[:len(old)-1]
	w.index = -1 // out of the queue: a retry of it finds nothing to move
	return w
}

var _ heap.Interface = (*queue)(nil)
