package notifier

import (
	"strings"
	"time"

	"golang.org/x/time/rate"
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

// limiter makes a limiter that spaces messages evenly at the pace.
func (p Pace) limiter() *rate.Limiter {
	if every := p.every(); every > 0 {
		return rate.NewLimiter(rate.Every(every), 1)
	}
	return rate.NewLimiter(rate.Inf, 1)
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
