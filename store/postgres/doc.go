// Package postgres is hostwatch's store on PostgreSQL, through pgx and its
// pool: the same record as store/sqlite, for several instances that share
// one database. Its schema is created and upgraded by the numbered
// migrations in migrations/, one transaction each, under an advisory lock
// so that instances starting together apply each once.
package postgres
