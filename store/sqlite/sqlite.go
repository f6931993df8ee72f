package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hostwatch/hostwatch/store"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a store.Store in one SQLite file.
type DB struct {
	// w is the only connection that writes: SQLite has one writer at a
	// time, and one connection makes that explicit instead of a busy wait.
	w *sql.DB
	// r serves queries concurrently from WAL snapshots.
	r *sql.DB

	mu  sync.RWMutex
	ids map[string]int64 // check name → id

	stmts map[string]*sql.Stmt // the hot queries, prepared on w at Open

	health store.WriteHealth
	path   string
	lock   *os.File // held by the daemon: see Lock
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if need be) the database file at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	// synchronous(FULL): a committed incident or message survives a power
	// cut, not only a crash; commits are grouped, so this costs little.
	pragmas := []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"}
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append(pragmas, extra...) {
			q.Add("_pragma", p)
		}
		return "file:" + path + "?" + q.Encode() + "&_txlock=immediate"
	}
	w, err := sql.Open("sqlite", dsn())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	db := &DB{w: w, ids: map[string]int64{}, stmts: map[string]*sql.Stmt{}, path: path}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	for _, q := range hotQueries {
		s, err := w.PrepareContext(ctx, q)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s: prepare: %w", path, err)
		}
		db.stmts[q] = s
	}
	r, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	db.r = r
	if err := db.loadIDs(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database; what was committed is on disk.
func (db *DB) Close() error {
	var errs []error
	for _, s := range db.stmts {
		errs = append(errs, s.Close())
	}
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	errs = append(errs, db.w.Close())
	if db.lock != nil {
		errs = append(errs, db.lock.Close())
	}
	return errors.Join(errs...)
}

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := db.w.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	ms, err := store.ReadMigrations(migrations, "migrations")
	if err != nil {
		return err
	}
	pending, err := store.Unapplied(ms, current)
	if err != nil {
		return err
	}
	for _, m := range pending {
		err = db.Update(ctx, func(t store.Tx) error {
			tx := t.(*tx).tx
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, ?)`, m.Version, m.Name, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// SchemaVersion is the version of the file's schema.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.r.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// Ping reports whether the database answers a query and takes writes: an
// *store.Unwritable while writes fail.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.r.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return err
	}
	return db.health.Err(time.Now())
}

func (db *DB) loadIDs(ctx context.Context) error {
	rows, err := db.r.QueryContext(ctx, `SELECT id, name FROM checks`)
	if err != nil {
		return fmt.Errorf("load checks: %w", err)
	}
	defer rows.Close()
	db.mu.Lock()
	defer db.mu.Unlock()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		db.ids[name] = id
	}
	return rows.Err()
}

// Register adds the checks the store does not know yet: those it knows are
// left alone, and the others are written many to a statement, so that a
// start with 100,000 checks costs a read, not 100,000 statements.
func (db *DB) Register(ctx context.Context, checks []string) error {
	if err := db.loadIDs(ctx); err != nil {
		return err
	}
	missing := db.keyBy(checks)
	if len(missing) == 0 {
		return nil
	}
	const batch = 500
	err := db.Update(ctx, func(t store.Tx) error {
		for len(missing) > 0 {
			n := min(batch, len(missing))
			q := `INSERT INTO checks (name) VALUES (?)` + strings.Repeat(`, (?)`, n-1) + ` ON CONFLICT (name) DO NOTHING`
			if _, err := t.(*tx).exec(ctx, q, missing[:n]...); err != nil {
				return fmt.Errorf("register checks: %w", err)
			}
			missing = missing[n:]
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := db.loadIDs(ctx); err != nil {
		return err
	}
	if missing := db.keyBy(checks); len(missing) > 0 {
		return fmt.Errorf("register checks: %s not found after it was written", missing[0])
	}
	return nil
}

// keyBy keys the ids of the checks known by the caller's names, which it
// keeps anyway, letting the copies read from the database go, and returns
// the names the store does not know.
func (db *DB) keyBy(checks []string) []any {
	db.mu.Lock()
	defer db.mu.Unlock()
	var missing []any
	for _, name := range checks {
		if id, ok := db.ids[name]; ok {
			db.ids[name] = id
		} else {
			missing = append(missing, name)
		}
	}
	return missing
}

func (db *DB) checkID(name string) (int64, error) {
	db.mu.RLock()
	id, ok := db.ids[name]
	db.mu.RUnlock()
	if !ok {
		return 0, fmt.Errorf("check %s is not registered", name)
	}
	return id, nil
}

// Update runs fn in one immediate transaction.
func (db *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	sqlTx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		db.written(err)
		return fmt.Errorf("begin: %w", err)
	}
	t := &tx{db: db, tx: sqlTx}
	if err := fn(t); err != nil {
		db.written(err)
		return errors.Join(err, sqlTx.Rollback())
	}
	if err := t.appendChain(ctx); err != nil {
		db.written(err)
		return errors.Join(err, sqlTx.Rollback())
	}
	err = sqlTx.Commit()
	db.written(err)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// written records the outcome of a write for Ping. Only SQLite's own
// errors count: a check not registered or an incident not open says
// nothing of the file.
func (db *DB) written(err error) {
	var se *sqlite.Error
	if err != nil && !errors.As(err, &se) {
		return
	}
	db.health.Record(time.Now(), err, reason(se))
}

// reason says in plain words what a SQLite error means, naming no file.
func reason(se *sqlite.Error) string {
	if se == nil {
		return ""
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_FULL:
		return "database or disk is full"
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return "database disk image is malformed"
	case sqlite3.SQLITE_IOERR:
		return "disk I/O error"
	case sqlite3.SQLITE_READONLY:
		return "attempt to write a readonly database"
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return "database is locked"
	case sqlite3.SQLITE_CANTOPEN:
		return "unable to open database file"
	}
	return fmt.Sprintf("SQLite error %d", se.Code())
}

// ms stores a time as Unix milliseconds, the zero time as NULL.
func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// fromMS reads what ms stored.
func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64)
}

// nullID stores 0 as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
