//go:build !testclock

package main

import "github.com/jonboulle/clockwork"

// probeClock is the clock the monitor schedules probes by: the daemon's
// own. A test build (-tags testclock) can make it run faster.
func probeClock(c clockwork.Clock) clockwork.Clock { return c }
