// Package monitor runs every check on its cron schedule and turns probe
// results into up and down: down_after consecutive failures take a check
// down, up_after consecutive successes bring it back, and retry_interval,
// when set, probes sooner while such a run is not yet confirmed. Each
// probe's outcome goes to a Sink; the monitor itself writes nothing.
package monitor
