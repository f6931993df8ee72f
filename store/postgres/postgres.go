package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hostwatch/hostwatch/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a store.Store in one PostgreSQL database.
type DB struct {
	pool *pgxpool.Pool

	mu  sync.RWMutex
	ids map[string]int64 // check name → id

	health store.WriteHealth
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at dsn (a postgres:// URL) and brings its
// schema up to date. It refuses a schema newer than it knows with an
// *store.ErrSchemaNewer. Errors never show the DSN: it may hold a
// password.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("storage.dsn is not a usable PostgreSQL URL")
	}
	if cfg.MaxConns < 8 {
		cfg.MaxConns = 8
	}
	// A connection that hangs must not hold a transaction for minutes.
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "hostwatch"
	cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = "60000"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	db := &DB{pool: pool, ids: map[string]int64{}}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := db.loadIDs(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// migrationLock is the advisory lock instances take while they migrate.
const migrationLock = 0x686f737477617463 // "hostwatc"

func (db *DB) migrate(ctx context.Context) error {
	ms, err := store.ReadMigrations(migrations, "migrations")
	if err != nil {
		return err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("lock the schema: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read the schema's version: %w", err)
	}
	pending, err := store.Unapplied(ms, current)
	if err != nil {
		return err
	}
	for _, m := range pending {
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// SchemaVersion is the version of the database's schema.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// Ping reports whether the database answers a query and takes writes: an
// *store.Unwritable while writes fail.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return err
	}
	return db.health.Err(time.Now())
}

func (db *DB) loadIDs(ctx context.Context) error {
	rows, err := db.pool.Query(ctx, `SELECT id, name FROM checks`)
	if err != nil {
		return fmt.Errorf("load checks: %w", err)
	}
	ids := map[string]int64{}
	var id int64
	var name string
	_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		ids[name] = id
		return nil
	})
	if err != nil {
		return fmt.Errorf("load checks: %w", err)
	}
	db.mu.Lock()
	db.ids = ids
	db.mu.Unlock()
	return nil
}

// Register adds the checks the store does not know yet, in one statement.
func (db *DB) Register(ctx context.Context, checks []string) error {
	err := db.Update(ctx, func(t store.Tx) error {
		_, err := t.(*tx).exec(ctx, `INSERT INTO checks (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING`, checks)
		if err != nil {
			return fmt.Errorf("register checks: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return db.loadIDs(ctx)
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

// Update runs fn in one transaction. Writes whose outcome fn does not read
// are sent together, in one round trip, before the commit.
func (db *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	pgTx, err := db.pool.Begin(ctx)
	if err != nil {
		db.written(err)
		return fmt.Errorf("begin: %w", err)
	}
	t := &tx{db: db, tx: pgTx}
	if err := fn(t); err != nil {
		db.written(err)
		return errors.Join(err, rollback(ctx, pgTx))
	}
	if err := t.appendChain(ctx); err != nil {
		db.written(err)
		return errors.Join(err, rollback(ctx, pgTx))
	}
	err = pgTx.Commit(ctx)
	db.written(err)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func rollback(ctx context.Context, t pgx.Tx) error {
	err := t.Rollback(context.WithoutCancel(ctx))
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return err
}

// written records the outcome of a write for Ping. Only the database's
// errors and a lost connection count: a check not registered or an
// incident not open says nothing of the database.
func (db *DB) written(err error) {
	reason, ok := reasonOf(err)
	if err != nil && !ok {
		return
	}
	db.health.Record(time.Now(), err, reason)
}

// reasonOf says in plain words what a PostgreSQL error means, naming no
// host, file or secret, and whether it is the database's at all.
func reasonOf(err error) (string, bool) {
	if err == nil {
		return "", true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100":
			return "disk full", true
		case pe.Code == "25006":
			return "the database is read-only (a standby?)", true
		case pe.Code == "XX001" || pe.Code == "XX002":
			return "data corrupted", true
		case strings.HasPrefix(pe.Code, "53"):
			return "insufficient resources (" + pe.Code + ")", true
		case strings.HasPrefix(pe.Code, "57P"):
			return "the server is shutting down or restarting", true
		case strings.HasPrefix(pe.Code, "08"):
			return "connection failure", true
		}
		return "PostgreSQL error " + pe.Code, true
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed") {
		return "connection lost", true
	}
	return "", false
}
