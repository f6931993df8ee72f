package store

import (
	"errors"
	"testing"
	"time"
)

// TestWriteHealth: a refused write makes the store unhealthy at once; it
// stays so while writes keep failing, even with some succeeding between,
// and is healthy again HealthHold after the last failure once writes
// succeed.
func TestWriteHealth(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)
	full := errors.New("database or disk is full (13)")
	var h WriteHealth
	steps := []struct {
		at      time.Duration
		err     error // recorded at at, unless nothing is
		record  bool
		healthy bool
		since   time.Duration
	}{
		{0, nil, true, true, 0},
		{time.Second, full, true, false, time.Second},
		{2 * time.Second, nil, true, false, time.Second}, // a small write into space the file has
		{10 * time.Second, full, true, false, time.Second},
		{20 * time.Second, nil, true, false, time.Second},
		{25 * time.Second, nil, true, true, 0},
		{26 * time.Second, full, true, false, 26 * time.Second}, // a new episode
		{50 * time.Second, nil, false, false, 26 * time.Second}, // no write since: still the last word
	}
	for i, s := range steps {
		now := t0.Add(s.at)
		if s.record {
			reason := ""
			if s.err != nil {
				reason = "database or disk is full"
			}
			h.Record(now, s.err, reason)
		}
		err := h.Err(now)
		var u *Unwritable
		switch {
		case s.healthy && err != nil:
			t.Errorf("step %d: %v, want healthy", i, err)
		case !s.healthy && !errors.As(err, &u):
			t.Errorf("step %d: %v, want unwritable", i, err)
		case !s.healthy && (!u.Since.Equal(t0.Add(s.since)) || u.Reason != "database or disk is full"):
			t.Errorf("step %d: %+v, want since +%v", i, u, s.since)
		}
	}
}
