package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hostwatch/hostwatch/store"
)

// Store is what membership needs of the store.
type Store interface {
	store.Members
	store.Leases
}

// Options are what a Member needs.
type Options struct {
	Store Store
	// Name and Location are cluster.instance and cluster.location.
	Name, Location string
	// Shared says other instances may share the store (PostgreSQL): the
	// checks are then shared out, and an instance whose lease runs out is
	// fenced. On a store only this one uses (SQLite, one daemon per file)
	// every check is its own and nothing fences it.
	Shared bool
	// Every is how often the lease is renewed; TTL how long it runs
	// unless renewed. Defaults 2s and 8s.
	Every, TTL time.Duration
	// Report says, at each heartbeat, what this instance does besides
	// probing and how many checks it holds, for the others to see.
	Report   func() (role string, checks int)
	Clock    clockwork.Clock
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// Member is this daemon's place in the membership.
type Member struct {
	o     Options
	clock clockwork.Clock
	log   *slog.Logger
	self  store.Instance

	view atomic.Pointer[view]
	mu   sync.Mutex // one heartbeat at a time
}

// view is the membership as this instance last read it.
type view struct {
	members []store.Instance
	// offset is the store's clock minus this host's, measured at the
	// heartbeat: leases are in the store's clock.
	offset time.Duration
}

// New builds a Member; it joins at Join.
func New(o Options) *Member {
	if o.Every <= 0 {
		o.Every = 2 * time.Second
	}
	if o.TTL <= 0 {
		o.TTL = 8 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Report == nil {
		o.Report = func() (string, int) { return "", 0 }
	}
	host, _ := os.Hostname()
	m := &Member{o: o, clock: o.Clock, log: o.Logger, self: store.Instance{
		Name: o.Name, Token: NewToken(), Location: o.Location, PID: os.Getpid(), Host: host,
		Started: o.Clock.Now(),
	}}
	m.view.Store(&view{})
	if o.Registry != nil {
		o.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hostwatch_cluster_instances", Help: "Instances whose lease runs, as this one last saw them.",
		}, func() float64 { return float64(len(m.Members())) }))
	}
	return m
}

// NewToken makes a random token that names one run of a daemon.
func NewToken() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Join takes the instance's place: it fails when another running process
// holds the name. An earlier run on this host whose process is gone (killed
// before it could leave) is taken over at once.
func (m *Member) Join(ctx context.Context) error {
	err := m.beat(ctx)
	var taken *store.ErrNameTaken
	if errors.As(err, &taken) && m.gone(taken.Holder) {
		m.log.Info("taking over the lease of an earlier run that is gone", "instance", m.self.Name, "pid", taken.Holder.PID)
		m.self.Replaces = taken.Holder.Token
		err = m.beat(ctx)
	}
	return err
}

// gone reports whether an instance's process has ended: it ran on this
// host, and its PID is no process, or is this one (a container restarted
// under the same name and PID).
func (m *Member) gone(in store.Instance) bool {
	if in.Host != m.self.Host || in.PID <= 0 {
		return false
	}
	if in.PID == m.self.PID {
		return true
	}
	return syscall.Kill(in.PID, 0) == syscall.ESRCH
}

// Run renews the lease until ctx is done, then leaves.
func (m *Member) Run(ctx context.Context) error {
	t := m.clock.NewTicker(m.o.Every)
	defer t.Stop()
	fenced := false
	for {
		select {
		case <-ctx.Done():
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if err := m.o.Store.Leave(lctx, m.self.Name, m.self.Token); err != nil {
				return fmt.Errorf("leave as %s: %w", m.self.Name, err)
			}
			return nil
		case <-t.Chan():
			if err := m.beat(ctx); err != nil && ctx.Err() == nil {
				m.log.Error("heartbeat failed", "instance", m.self.Name, "err", err)
			}
			if now := m.Fenced(); now != fenced {
				fenced = now
				if fenced {
					m.log.Error("this instance's lease ran out: it stops probing and sending until it can renew it", "instance", m.self.Name)
				} else {
					m.log.Info("lease renewed: this instance probes and sends again", "instance", m.self.Name)
				}
			}
		}
	}
}

func (m *Member) beat(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	bctx, cancel := context.WithTimeout(ctx, m.o.Every)
	defer cancel()
	m.self.Role, m.self.Checks = m.o.Report()
	sent := time.Now()
	now, members, err := m.o.Store.Beat(bctx, m.self, m.o.TTL, m.o.Every+time.Second)
	if err != nil {
		return fmt.Errorf("renew the lease of instance %s: %w", m.self.Name, err)
	}
	back := time.Now()
	m.view.Store(&view{members: members, offset: now.Sub(sent.Add(back.Sub(sent) / 2))})
	return nil
}

// Token is this run's.
func (m *Member) Token() string { return m.self.Token }

// Replaced is the token of the earlier run under this name that Join took
// over because its process was gone, or "".
func (m *Member) Replaced() string { return m.self.Replaces }

// Name and Location are this instance's.
func (m *Member) Name() string     { return m.self.Name }
func (m *Member) Location() string { return m.self.Location }

// Members are the instances whose lease ran at the last heartbeat.
func (m *Member) Members() []store.Instance {
	return m.view.Load().members
}

// Fenced reports whether this instance's lease has run out, as far as it
// knows: on a shared store it then probes and sends nothing, since
// another may have taken its work.
func (m *Member) Fenced() bool {
	if !m.o.Shared {
		return false
	}
	v := m.view.Load()
	now := time.Now().Add(v.offset)
	for _, in := range v.members {
		if in.Name == m.self.Name && in.Token == m.self.Token {
			return !now.Before(in.Until)
		}
	}
	return true
}

// Owns reports whether this instance probes check at the time at (this
// host's clock). The checks are shared out by rendezvous hashing of the
// check's name with the instances' names: each goes to the live instance
// that scores highest, so an instance joining or leaving moves only the
// checks it takes or held. Live is the same time-bounded membership on
// every instance (from when an instance takes checks until its lease
// ends, in the store's clock), so they agree on who probes each run.
//
// Clocks agree only so far (the offset to the store's is measured within a
// round trip), so this instance counts itself live a margin later and
// shorter than the others count it: at a change of membership a check may
// skip one run, but no check is probed by two instances in one.
func (m *Member) Owns(check string, at time.Time) bool {
	if !m.o.Shared {
		return true
	}
	v := m.view.Load()
	t := at.Add(v.offset)
	best, bestScore := "", uint64(0)
	for _, in := range v.members {
		since, until := in.Since, in.Until
		if in.Name == m.self.Name {
			since, until = since.Add(handover), until.Add(-handover)
		}
		if t.Before(since) || !t.Before(until) {
			continue
		}
		if s := score(in.Name, check); best == "" || s > bestScore || (s == bestScore && in.Name < best) {
			best, bestScore = in.Name, s
		}
	}
	return best == m.self.Name
}

// handover is the margin by which an instance takes checks later, and
// gives them up sooner, than the others see it: more than the clocks of two
// instances may disagree about the store's.
const handover = 100 * time.Millisecond

// score is the rendezvous weight of check on instance: FNV-1a of both,
// mixed so that close names spread.
func score(instance, check string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(instance); i++ {
		h = (h ^ uint64(instance[i])) * 1099511628211
	}
	h = (h ^ 0) * 1099511628211
	for i := 0; i < len(check); i++ {
		h = (h ^ uint64(check[i])) * 1099511628211
	}
	// splitmix64's finalizer
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// Lead runs fn while this instance holds lease name, the work only one
// instance may do at a time (Telegram's long polling): it tries to take
// the lease every Every, renews it while fn runs, and cancels fn's context
// when it cannot, then waits for fn before trying again. It returns when
// ctx is done.
func (m *Member) Lead(ctx context.Context, name string, fn func(context.Context)) {
	t := m.clock.NewTicker(m.o.Every)
	defer t.Stop()
	for ctx.Err() == nil {
		held, err := m.o.Store.Lease(ctx, name, m.self.Token, m.o.TTL)
		if err != nil && ctx.Err() == nil {
			m.log.Warn("take the lease", "lease", name, "err", err)
		}
		if held && !m.Fenced() {
			m.log.Info("this instance holds the lease", "lease", name)
			m.leading(ctx, name, fn, t.Chan())
			continue
		}
		select {
		case <-ctx.Done():
		case <-t.Chan():
		}
	}
}

// leading runs fn until the lease cannot be renewed or ctx is done.
func (m *Member) leading(ctx context.Context, name string, fn func(context.Context), tick <-chan time.Time) {
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(fctx)
	}()
	defer func() {
		cancel()
		<-done
		rctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer stop()
		m.o.Store.ReleaseLease(rctx, name, m.self.Token)
	}()
	renewed := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-tick:
			held, err := m.o.Store.Lease(ctx, name, m.self.Token, m.o.TTL)
			switch {
			case err == nil && held:
				renewed = time.Now()
			case err == nil:
				m.log.Warn("another instance took the lease: stopping its work", "lease", name)
				return
			case time.Since(renewed) > m.o.TTL*3/4:
				// A failed renewal is tried again while the lease
				// surely runs; then the work stops, before another
				// instance may take it over.
				m.log.Warn("the lease could not be renewed: stopping its work", "lease", name, "err", err)
				return
			}
			if m.Fenced() {
				return
			}
		}
	}
}
