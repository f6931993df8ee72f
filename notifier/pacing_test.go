package notifier

import (
	"slices"
	"testing"
	"time"
)

// TestLimiterBooks: a platform that has been quiet takes a few messages at
// once; more in a row keep the even pace; a share of the limit is kept the
// same way.
func TestLimiterBooks(t *testing.T) {
	const ms = time.Millisecond
	telegram := Pace{N: 30, Per: time.Second} // 34 ms apart at the even pace, with the margin
	for _, tc := range []struct {
		name  string
		pace  Pace
		share int
		asked []time.Duration // when each message asks to go
		want  []time.Duration // when it may
	}{
		{"one goes at once", telegram, 1, []time.Duration{0}, []time.Duration{0}},
		{"a quiet platform takes three at once", telegram, 1,
			[]time.Duration{0, 0, 0}, []time.Duration{0, 0, 0}},
		{"the fourth in a row waits its pace", telegram, 1,
			[]time.Duration{0, 0, 0, 0, 0}, []time.Duration{0, 0, 0, 34 * ms, 68 * ms}},
		{"after a quiet spell, at once again", telegram, 1,
			[]time.Duration{0, 0, 0, 0, 500 * ms, 500 * ms}, []time.Duration{0, 0, 0, 34 * ms, 500 * ms, 500 * ms}},
		{"an alert after another destination's message does not wait", telegram, 1,
			[]time.Duration{0, 10 * ms}, []time.Duration{0, 10 * ms}},
		{"one a second, shared by two", Pace{N: 1, Per: time.Second}, 2,
			[]time.Duration{0, 0}, []time.Duration{0, 2040 * ms}},
		{"thirty a second, shared by four: seven in each period", telegram, 4,
			[]time.Duration{0, 0, 0, 0}, []time.Duration{0, 0, 0, 145 * ms}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
			l := newLimiter(tc.pace)
			l.share(tc.share)
			var got []time.Duration
			for _, a := range tc.asked {
				got = append(got, l.reserve(t0.Add(a)).Sub(t0).Truncate(ms))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("booked at %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLimiterKeepsTheLimitInAStorm: a thousand messages asked at once are
// never more than N in any period, never more than three at one time, and
// go at the limit's rate.
func TestLimiterKeepsTheLimitInAStorm(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	p := Pace{N: 30, Per: time.Second}
	l := newLimiter(p)
	var at []time.Time
	for range 1000 {
		at = append(at, l.reserve(t0))
	}
	period := time.Duration(float64(p.Per) * margin)
	for i := range at {
		if i >= p.N && at[i].Sub(at[i-p.N]) < period {
			t.Fatalf("messages %d and %d are %v apart: %d in less than %v", i-p.N, i, at[i].Sub(at[i-p.N]), p.N+1, period)
		}
		if i >= burst && !at[i].After(at[i-burst]) {
			t.Fatalf("messages %d to %d all at %v", i-burst, i, at[i].Sub(t0))
		}
	}
	// The last can go no sooner than after (1000-1)/30 whole periods; the
	// even pace within each costs less than one more.
	if took, least := at[len(at)-1].Sub(t0), period*time.Duration((len(at)-1)/p.N); took > least+period {
		t.Errorf("a thousand took %v, the limit allows %v", took, least)
	}
}
