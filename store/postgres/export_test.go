package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// Raw is the pool, for tests that tamper with the rows.
func (db *DB) Raw() *pgxpool.Pool { return db.pool }
