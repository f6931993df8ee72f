//go:build testclock

package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/jonboulle/clockwork"
)

// probeClock is, in a build for the tests, a clock that runs
// HOSTWATCH_TEST_CLOCK_SPEED times faster than real time from now, when
// that is set: the tests watch minutes of schedules in seconds. It is the
// monitor's only: the times of probes, and of the incidents they open,
// run fast; the engine, pings and messages keep real time. Unset, it is
// the daemon's clock.
func probeClock(c clockwork.Clock) clockwork.Clock {
	v := os.Getenv("HOSTWATCH_TEST_CLOCK_SPEED")
	if v == "" {
		return c
	}
	k, err := strconv.ParseFloat(v, 64)
	if err != nil || k <= 0 {
		// A test build only: a test that sets it wrong must not pass on
		// real time.
		panic(fmt.Sprintf("HOSTWATCH_TEST_CLOCK_SPEED=%q: want a speed factor above 0", v))
	}
	start := time.Now()
	fast := clockwork.NewFakeClockAt(start)
	// A fake clock moved on every millisecond: its timers are clockwork's
	// own, late by a millisecond of real time at most.
	go func() {
		for range time.Tick(time.Millisecond) {
			fast.Advance(start.Add(time.Duration(float64(time.Since(start)) * k)).Sub(fast.Now()))
		}
	}()
	return fast
}
