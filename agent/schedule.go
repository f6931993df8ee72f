package agent

import (
	"container/heap"
	"context"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/robfig/cron/v3"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
)

// probe is one assigned check as the scheduler runs it.
type probe struct {
	check   *config.Check
	checker checks.Checker
	next    time.Time
	index   int
	// running is set while a probe of the check is out: a check slower
	// than its schedule skips a turn rather than run twice at once, so
	// its results stay in the order it was probed.
	running atomic.Bool
}

// probes is a min-heap of probes by next run.
type probes []*probe

func (q probes) Len() int           { return len(q) }
func (q probes) Less(i, j int) bool { return q[i].next.Before(q[j].next) }
func (q probes) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *probes) Push(x any) {
	p := x.(*probe)
	p.index = len(*q)
	*q = append(*q, p)
}
func (q *probes) Pop() any {
	old := *q
	p := old[len(old)-1]
	*q = old[:len(old)-1]
	return p
}

// scheduler runs the assigned checks on their schedules and hands each
// result to done.
type scheduler struct {
	clock    clockwork.Clock
	parallel chan struct{} // a slot per probe out at once
	done     func(Result)
	// sets are the assignments the puller got, newest last: the
	// scheduler takes them between runs.
	sets  chan []*probe
	byID  map[string]*probe
	queue probes
	wg    sync.WaitGroup
}

func newScheduler(clock clockwork.Clock, parallel int, done func(Result)) *scheduler {
	return &scheduler{clock: clock, parallel: make(chan struct{}, max(parallel, 1)), done: done,
		sets: make(chan []*probe, 1), byID: map[string]*probe{}}
}

// assign replaces the checks probed. A check kept keeps its place in time,
// and a probe of it still out is not run again beside it.
func (s *scheduler) assign(ps []*probe) {
	for {
		select {
		case s.sets <- ps:
			return
		case <-s.sets: // a newer set replaces one not yet taken
		}
	}
}

// run probes until ctx is done, then waits for the probes out: those cut
// short by the stop report nothing, as they saw nothing of the target.
func (s *scheduler) run(ctx context.Context) {
	defer s.wg.Wait()
	timer := s.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := time.Hour
		if len(s.queue) > 0 {
			wait = s.queue[0].next.Sub(s.clock.Now())
		}
		timer.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			return
		case set := <-s.sets:
			s.replace(set)
		case <-timer.Chan():
			now := s.clock.Now()
			for len(s.queue) > 0 && !s.queue[0].next.After(now) {
				p := s.queue[0]
				s.start(ctx, p)
				p.next = p.check.Cron.Next(now)
				heap.Fix(&s.queue, 0)
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.Chan():
			default:
			}
		}
	}
}

// replace takes a new assignment.
func (s *scheduler) replace(set []*probe) {
	now := s.clock.Now()
	byID := make(map[string]*probe, len(set))
	s.queue = s.queue[:0]
	for _, p := range set {
		if old, ok := s.byID[p.check.ID]; ok {
			if old.check.Schedule != p.check.Schedule || zone(old.check) != zone(p.check) {
				old.next = first(p.check, now)
			}
			old.check, old.checker = p.check, p.checker
			p = old
		} else {
			p.next = first(p.check, now)
		}
		byID[p.check.ID] = p
		heap.Push(&s.queue, p)
	}
	s.byID = byID
}

// zone is the time zone a check's cron schedule is read in.
func zone(c *config.Check) string {
	if spec, ok := c.Cron.(*cron.SpecSchedule); ok && spec.Location != nil {
		return spec.Location.String()
	}
	return ""
}

// first is when a new check runs first. An "@every" check starts at an
// offset within its interval fixed by its id, so that checks assigned at
// once do not all start in the same instant.
func first(c *config.Check, now time.Time) time.Time {
	every, ok := c.Cron.(cron.ConstantDelaySchedule)
	if !ok || every.Delay <= 0 {
		return c.Cron.Next(now)
	}
	h := fnv.New64a()
	h.Write([]byte(c.ID))
	return now.Add(time.Duration(h.Sum64() % uint64(every.Delay)))
}

// start probes p unless a probe of it is still out.
func (s *scheduler) start(ctx context.Context, p *probe) {
	if !p.running.CompareAndSwap(false, true) {
		return
	}
	id, checker, timeout := p.check.ID, p.checker, p.check.Timeout.Duration
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer p.running.Store(false)
		select {
		case s.parallel <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-s.parallel }()
		pctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		start := s.clock.Now()
		r := checker.Check(pctx)
		if ctx.Err() != nil {
			return // cut short by the stop
		}
		s.done(NewResult(id, start, r))
	}()
}
