package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/sqlite"
	"github.com/hostwatch/hostwatch/store/storetest"
)

// TestConformance runs the stores' conformance suite on SQLite files.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func(t *testing.T) store.Store {
		path := filepath.Join(t.TempDir(), "h.db")
		return func(t *testing.T) store.Store {
			db, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
	})
}
