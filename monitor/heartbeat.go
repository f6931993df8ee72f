package monitor

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/source"
	"github.com/hostwatch/hostwatch/store"
)

// PingKind is what a heartbeat's job says with a ping.
type PingKind string

// The kinds of ping, as /ping/TOKEN, /ping/TOKEN/start and
// /ping/TOKEN/fail say them.
const (
	// PingSuccess says the job ran and succeeded: the check is up, and
	// the next ping is due a period on.
	PingSuccess PingKind = "success"
	// PingStart says the job began: the ping that ends it says how long
	// it ran. It changes nothing else.
	PingStart PingKind = "start"
	// PingFail says the job ran and failed: the check is down at once.
	PingFail PingKind = "fail"
)

var (
	// ErrNotProbed is the answer to a probe asked of a heartbeat check.
	ErrNotProbed = errors.New("a heartbeat check is pinged, not probed")
	// ErrNotHeartbeat is the answer to a ping of a check that is none.
	ErrNotHeartbeat = errors.New("not a heartbeat check")
	// ErrStopped is the answer to a ping once the monitor has stopped.
	ErrStopped = errors.New("the monitor has stopped")
)

// failedJob is the error of a failure a job reported itself.
const failedJob = "the job reported a failure"

// beat is what the watch of a heartbeat check keeps beside its state:
// when the next ping is due, the last ping, and a start not yet ended.
// Its fields are under the watched's mu; the deadline, due plus grace, is
// the watched's next, which the scheduler reads.
type beat struct {
	due      time.Time
	lastPing time.Time // zero when not known here
	started  time.Time
	// order makes a check's observations reach the sink in the order
	// they were applied: pings come on many goroutines, and a deadline
	// on another.
	order sync.Mutex
}

// watchBeat starts the watch of a heartbeat check from its state: the
// next ping is due a period after the last one recorded (or the last
// deadline missed), or after the watch began when none was.
func (w *watched) watchBeat() {
	w.beat.lastPing, w.beat.started = time.Time{}, time.Time{}
	from := time.Unix(0, w.watched)
	if w.state.probed != 0 {
		from = unixTime(w.state.probed)
		if w.state.is(store.Up) { // then its last event was a ping
			w.beat.lastPing, w.lastAt = from, w.state.probed
		}
	}
	w.setDue(w.cfg.Heartbeat.Due(from))
}

// setDue sets when the next ping is due, and so the deadline; a schedule
// that never falls due again leaves none.
func (w *watched) setDue(due time.Time) {
	w.beat.due = due
	if due.IsZero() {
		w.next.Store(0)
		return
	}
	w.next.Store(due.Add(w.cfg.Heartbeat.Grace.Duration).UnixNano())
}

// deadline is when a heartbeat check is missed without a ping; zero for
// never.
func (w *watched) deadline() time.Time {
	n := w.next.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// adopt takes a state another instance saved, when it is newer than the
// one here: a ping received there, or a deadline it acted on.
func (w *watched) adopt(s store.CheckState) {
	if !s.Probed.After(unixTime(w.state.probed)) {
		return
	}
	w.state = pack(s)
	if s.State == store.Up {
		w.beat.lastPing, w.lastAt = s.Probed, s.Probed.UnixNano()
	}
	w.setDue(w.cfg.Heartbeat.Due(s.Probed))
}

// dueBeat deals with a heartbeat check at the head of the queue, whose
// deadline has come: one that a ping moved later goes back in its place;
// otherwise it leaves the queue while a goroutine decides, and comes back
// through requeue.
func (m *Monitor) dueBeat(ctx context.Context, w *watched) {
	if d := w.deadline(); d.UnixNano() > w.due {
		w.due = d.UnixNano()
		heap.Fix(&m.queue, 0)
		return
	}
	at := time.Unix(0, w.due)
	heap.Pop(&m.queue)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.missed(ctx, w, at)
		select {
		case m.requeue <- w:
		case <-ctx.Done():
		}
	}()
}

// missed fails a heartbeat check whose deadline at passed without a ping,
// unless the check is another instance's now, or a ping came meanwhile
// (here, or at another instance: the owner reads the state saved last).
func (m *Monitor) missed(ctx context.Context, w *watched, at time.Time) {
	b := w.beat
	b.order.Lock()
	defer b.order.Unlock()
	if m.owner != nil {
		if !m.owner.Owns(w.cfg.ID, at) {
			// Another instance's: look again soon, not a period later,
			// to act on it if this one takes the check over meanwhile.
			w.owned.Store(false)
			w.next.Store(at.Add(recheck(w.cfg.Heartbeat)).UnixNano())
			return
		}
		w.owned.Store(true)
		if m.state != nil {
			s, err := m.state(ctx, w.cfg.ID)
			if err != nil {
				if ctx.Err() == nil {
					m.log.Warn("heartbeat deadline passed over: the check's state could not be read", "check", w.cfg.ID, "err", err)
				}
				w.mu.Lock()
				w.setDue(w.cfg.Heartbeat.Due(b.due))
				w.mu.Unlock()
				return
			}
			w.mu.Lock()
			w.adopt(s)
			w.mu.Unlock()
		}
	}
	w.mu.Lock()
	if d := w.deadline(); d.IsZero() || d.After(at) {
		w.mu.Unlock()
		return // pinged in time
	}
	r := checks.Result{Kind: "heartbeat", Error: m.silence(w, at)}
	change, _ := w.apply(at, false)
	w.state.probed = at.UnixNano()
	w.last = r // lastAt stays the last ping's
	// Due again a period on, so that the record shows it stays down;
	// counted from now when that too has passed (the daemon was
	// stopped): the periods missed meanwhile are not caught up.
	next := w.cfg.Heartbeat.Due(b.due)
	if !next.Add(w.cfg.Heartbeat.Grace.Duration).After(at) {
		next = w.cfg.Heartbeat.Due(at)
	}
	w.setDue(next)
	state := w.state.unpack(w.cfg.ID)
	w.mu.Unlock()
	m.observe(w, at, r, state, change)
}

// silence says what a missed deadline is: "no ping since 14:02:10, due
// every 2s with 1s grace".
func (m *Monitor) silence(w *watched, at time.Time) string {
	h := w.cfg.Heartbeat
	since := "hostwatch started at " + m.moment(time.Unix(0, w.watched), at)
	if !w.beat.lastPing.IsZero() {
		since = m.moment(w.beat.lastPing, at)
	}
	every := "every " + written(h.Period.Duration)
	if h.Cron != nil {
		every = fmt.Sprintf("at %q", h.Schedule)
	}
	return fmt.Sprintf("no ping since %s, due %s with %s grace", since, every, written(h.Grace.Duration))
}

// written is a duration as the configuration writes it: 1h, 30m, 1h30m,
// 90s, not 1h0m0s.
func written(d time.Duration) string {
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

// moment writes t for an error seen at now: its time of day, and its date
// too when a day or more before.
func (m *Monitor) moment(t, now time.Time) string {
	if now.Sub(t) >= 24*time.Hour {
		return t.In(m.loc).Format("Jan 2 15:04:05")
	}
	return t.In(m.loc).Format("15:04:05")
}

// Ping takes what the job of heartbeat check says at at: PingSuccess is a
// successful probe (its latency the time since a PingStart, if one came
// since the last ping), PingFail a failed one, and each moves the deadline
// a period on; PingStart is only remembered. body, what the job sent, is
// kept as the result's evidence: its first 10 KiB. In a cluster the
// check's state is read from the store first: the last ping may have come
// to another instance.
func (m *Monitor) Ping(ctx context.Context, check string, kind PingKind, at time.Time, body []byte) error {
	w, ok := m.byID[check]
	if !ok || w.beat == nil {
		return fmt.Errorf("ping %s: %w", check, ErrNotHeartbeat)
	}
	if !m.waitReady(ctx) {
		return fmt.Errorf("ping %s: %w", check, ctx.Err())
	}
	m.stopMu.RLock()
	defer m.stopMu.RUnlock()
	if m.stopped {
		return fmt.Errorf("ping %s: %w", check, ErrStopped)
	}
	b := w.beat
	b.order.Lock()
	defer b.order.Unlock()
	if kind == PingStart {
		w.mu.Lock()
		b.started = at
		w.mu.Unlock()
		return nil
	}
	if m.owner != nil && m.state != nil {
		s, err := m.state(ctx, check)
		if err != nil {
			return fmt.Errorf("ping %s: read its state: %w", check, err)
		}
		w.mu.Lock()
		w.adopt(s)
		w.mu.Unlock()
	}
	r := checks.Result{OK: kind == PingSuccess, Evidence: evidence(body)}
	if !r.OK {
		r.Kind, r.Error = "heartbeat", failedJob
	}
	w.mu.Lock()
	if !b.started.IsZero() && !at.Before(b.started) {
		r.Latency = at.Sub(b.started)
	}
	b.started = time.Time{}
	change, _ := w.apply(at, r.OK)
	w.state.probed = at.UnixNano()
	b.lastPing = at
	w.last, w.lastAt = r, at.UnixNano()
	w.setDue(w.cfg.Heartbeat.Due(at))
	state := w.state.unpack(w.cfg.ID)
	w.mu.Unlock()
	if r.Latency > 0 {
		w.latency.Observe(r.Latency.Seconds())
	}
	m.observe(w, at, r, state, change)
	return nil
}

// observe counts a heartbeat's result and hands it to the sink. It is
// never Steady: each ping is saved, since the next deadline counts from
// it, on this instance after a restart and on the others in a cluster.
func (m *Monitor) observe(w *watched, at time.Time, r checks.Result, state store.CheckState, change *Change) {
	w.probes.Add(1)
	if r.OK {
		w.okProbes.Inc()
	} else {
		w.failedProbes.Inc()
	}
	if change != nil {
		m.log.Info("check changed state", "check", w.cfg.ID, "from", change.From, "to", change.To, "error", r.Error)
	}
	m.sink.Observe(Observation{Check: w.cfg, At: at, Result: r, State: state, Change: change})
}

// stop keeps pings out from now on, once those under way are handed on.
func (m *Monitor) stop() {
	m.stopMu.Lock()
	m.stopped = true
	m.stopMu.Unlock()
}

// evidence is what a job sent with its ping as the record keeps it: the
// first 10 KiB, cut on a character's boundary, in valid UTF-8 and without
// NUL, which PostgreSQL's text refuses.
func evidence(body []byte) string {
	s := source.Evidence(body)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// recheck is how soon an instance that does not own a heartbeat check looks
// at its deadline again: within 30 s, or a period when that is shorter.
func recheck(h *config.HeartbeatCheck) time.Duration {
	if p := h.Period.Duration; p > 0 && p < 30*time.Second {
		return p
	}
	return 30 * time.Second
}
