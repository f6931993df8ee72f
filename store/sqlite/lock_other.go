//go:build !unix

package sqlite

// Lock is a no-op where flock is not to be had.
func (db *DB) Lock() error { return nil }
