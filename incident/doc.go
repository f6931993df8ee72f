// Package incident turns the monitor's state changes into incidents: an
// incident opens when a check goes down and resolves when it comes back, with
// the exact start and end of the outage and the errors seen. The Engine is
// also the record's single writer: it stores every failed probe, every state
// change and the hourly aggregates of the rest, in batches, and tells the
// notifier once the change is committed.
package incident
