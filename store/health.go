package store

import (
	"fmt"
	"sync"
	"time"
)

// WriteHealth tells from the outcome of each write whether a store takes
// writes. A store that refuses some (a full disk takes a small write into
// space it already has and refuses one that needs more) is unhealthy while
// any failed within the last HealthHold.
type WriteHealth struct {
	mu       sync.Mutex
	lastOK   time.Time
	lastFail time.Time
	since    time.Time // the first failure after the last success
	reason   string
}

// HealthHold is how long one refused write keeps a store unhealthy: longer
// than the writers' longest wait between retries, so that a store that
// keeps refusing them does not look healthy in between.
const HealthHold = 15 * time.Second

// Unwritable says that a store refuses writes: since when, and why, in
// words that name no file, host or secret.
type Unwritable struct {
	Since  time.Time
	Reason string
}

func (u *Unwritable) Error() string {
	return fmt.Sprintf("the store refuses writes since %s: %s", u.Since.UTC().Format(time.RFC3339), u.Reason)
}

// Record notes the outcome of one write at now; reason says why it failed.
func (h *WriteHealth) Record(now time.Time, err error, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.lastOK = now
		return
	}
	if !h.lastFail.After(h.lastOK) && now.Sub(h.lastFail) >= HealthHold {
		h.since = now
	}
	h.lastFail, h.reason = now, reason
}

// Err is nil while the store takes writes, else an *Unwritable.
func (h *WriteHealth) Err(now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lastFail.IsZero() || (h.lastOK.After(h.lastFail) && now.Sub(h.lastFail) >= HealthHold) {
		return nil
	}
	return &Unwritable{Since: h.since, Reason: h.reason}
}
