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
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hostwatch/hostwatch/store"
)

// Options are what a Member needs.
type Options struct {
	Store store.Members
	// Name and Location are cluster.instance and cluster.location.
	Name, Location string
	// Every is how often the lease is renewed; TTL how long it runs
	// unless renewed. Defaults 2s and 8s.
	Every, TTL time.Duration
	Clock      clockwork.Clock
	Logger     *slog.Logger
}

// Member is this daemon's place in the membership.
type Member struct {
	o     Options
	clock clockwork.Clock
	log   *slog.Logger
	self  store.Instance

	mu      sync.Mutex
	members []store.Instance
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
	host, _ := os.Hostname()
	token := make([]byte, 8)
	rand.Read(token)
	return &Member{o: o, clock: o.Clock, log: o.Logger, self: store.Instance{
		Name: o.Name, Token: hex.EncodeToString(token), Location: o.Location, PID: os.Getpid(), Host: host,
		Started: o.Clock.Now(),
	}}
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
		}
	}
}

func (m *Member) beat(ctx context.Context) error {
	bctx, cancel := context.WithTimeout(ctx, m.o.Every)
	defer cancel()
	_, members, err := m.o.Store.Beat(bctx, m.self, m.o.TTL, m.o.Every+time.Second)
	if err != nil {
		return fmt.Errorf("renew the lease of instance %s: %w", m.self.Name, err)
	}
	m.mu.Lock()
	m.members = members
	m.mu.Unlock()
	return nil
}

// Token is this run's.
func (m *Member) Token() string { return m.self.Token }

// Replaced is the token of the earlier run under this name that Join took
// over because its process was gone, or "".
func (m *Member) Replaced() string { return m.self.Replaces }

// Members are the instances whose lease ran at the last heartbeat.
func (m *Member) Members() []store.Instance {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.members
}
