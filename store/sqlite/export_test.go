package sqlite

import "database/sql"

// Raw is the writer's connection, for tests that tamper with the rows.
func (db *DB) Raw() *sql.DB { return db.w }
