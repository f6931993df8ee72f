// Package store keeps hostwatch's record: the state of every check, every
// failed probe, success counts aggregated per hour, incidents and their
// timelines. The interfaces here are what the rest of hostwatch uses;
// store/sqlite implements them in an embedded database, and a PostgreSQL
// implementation satisfies the same interfaces.
package store
