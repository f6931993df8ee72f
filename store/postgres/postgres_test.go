package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/postgres"
	"github.com/hostwatch/hostwatch/store/postgres/pgtest"
)

// TestMigrations: instances that start together apply each migration
// once; a schema a newer hostwatch migrated is refused.
func TestMigrations(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := postgres.Open(ctx, dsn)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, max int
	if err := conn.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil || n != max {
		t.Errorf("%d migrations recorded up to version %d, %v", n, max, err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(ctx, dsn)
	var newer *store.ErrSchemaNewer
	if !errors.As(err, &newer) || newer.Have != 999 || newer.Know != max {
		t.Errorf("open on a newer schema: %v", err)
	}
}

// TestSecretsStayOut: a DSN's password never shows in an error.
func TestSecretsStayOut(t *testing.T) {
	for _, dsn := range []string{
		"postgres://hw:s3cret-pw@127.0.0.1:1/x?connect_timeout=1",
		"postgres://hw:s3cret-pw@[bad/x",
	} {
		_, err := postgres.Open(context.Background(), dsn)
		if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("open %q: %v", "postgres://hw:***@...", err)
		}
	}
}
