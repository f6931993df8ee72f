// Package sqlite is the default store: one SQLite file in WAL mode through a
// pure-Go driver, so the binary builds with CGO_ENABLED=0. Migrations are the
// numbered SQL files under migrations/, applied in order at Open.
package sqlite
