package notifier

import (
	"strings"
	"sync"
	"time"
)

// Pace is a rate: N messages per period. The zero Pace is unlimited.
type Pace struct {
	N   int
	Per time.Duration
}

// margin keeps pacing a little under a platform's limit, so that jitter on
// the way never makes a burst the platform would refuse.
const margin = 1.02

// every is the least time between two messages at the pace, kept a little
// longer by margin; 0 when unlimited.
func (p Pace) every() time.Duration {
	if p.N <= 0 || p.Per <= 0 {
		return 0
	}
	return time.Duration(float64(p.Per) / float64(p.N) * margin)
}

// burst is how many messages a platform that has been quiet takes at once
// under its overall limit: an alert that finds the platform quiet goes
// out without waiting for the even pace, while a storm is still spread
// evenly.
const burst = 3

// limiter keeps a platform's overall limit, N messages in any period (kept
// a little longer by margin), for the workers of all its destinations.
// Within it, messages that keep coming go at an even pace, a few at once
// at most; a message that finds the platform quiet goes at once. Spacing
// every message evenly, as one message every Per/N, would hold an alert
// back behind any message of another destination sent just before it.
type limiter struct {
	mu sync.Mutex
	// n messages in any period at most; the pace is period/n.
	n      int
	period time.Duration
	// sent are the times booked for the last n messages, oldest first.
	sent []time.Time
	// paced is when the next message would go at the even pace with no
	// burst (the theoretical arrival time of GCRA).
	paced time.Time
	// pace is the platform's whole limit, of which share sets this
	// instance's part.
	pace Pace
}

// newLimiter keeps p; nil when p is unlimited.
func newLimiter(p Pace) *limiter {
	if p.every() <= 0 {
		return nil
	}
	l := &limiter{pace: p}
	l.share(1)
	return l
}

// share keeps this instance to its part of the limit, shared by k
// instances: N/k messages in a period, or when N < k, one in k/N periods.
func (l *limiter) share(k int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	period := time.Duration(float64(l.pace.Per) * margin)
	n := l.pace.N / k
	if n < 1 {
		n, period = 1, period*time.Duration(k)/time.Duration(l.pace.N)
	}
	l.n, l.period = n, period
	if len(l.sent) > n {
		l.sent = l.sent[len(l.sent)-n:]
	}
}

// reserve books a message at the earliest time at or after now that keeps
// the limit, and returns that time.
func (l *limiter) reserve(now time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	every := l.period / time.Duration(l.n)
	at := later(now, l.paced.Add(-time.Duration(min(burst, l.n)-1)*every))
	if len(l.sent) == l.n {
		at = later(at, l.sent[0].Add(l.period))
		l.sent = l.sent[1:]
	}
	l.sent = append(l.sent, at)
	l.paced = later(l.paced, at).Add(every)
	return at
}

// Pacing is a platform's limits: one for the platform as a whole, and one
// per destination, which may depend on the address.
type Pacing struct {
	Global         Pace
	PerDestination func(address string) Pace
}

// TelegramPacing is Telegram's published limits: about 30 messages a second
// in all, one a second per chat, 20 a minute per group (negative chat ids).
func TelegramPacing(global, chat, group Pace) Pacing {
	return Pacing{Global: global, PerDestination: func(address string) Pace {
		if strings.HasPrefix(address, "-") {
			return group
		}
		return chat
	}}
}

// PerDestination is a pacing with the same limit for every destination and
// none for the platform as a whole.
func PerDestination(p Pace) Pacing {
	return Pacing{PerDestination: func(string) Pace { return p }}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
