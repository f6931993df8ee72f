package postgres_test

import (
	"context"
	"testing"

	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/postgres"
	"github.com/hostwatch/hostwatch/store/postgres/pgtest"
	"github.com/hostwatch/hostwatch/store/storetest"
)

// TestConformance runs the stores' conformance suite on PostgreSQL, each
// test in a database of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func(t *testing.T) store.Store {
		dsn := pgtest.Database(t)
		return func(t *testing.T) store.Store {
			db, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
	})
}
