// Package monitor runs every check on its cron schedule and turns probe
// results into up and down: down_after consecutive failures take a check
// down, up_after consecutive successes bring it back. Each probe's outcome
// goes to a Sink; the monitor itself writes nothing.
package monitor
