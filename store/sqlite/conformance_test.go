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
	}, tamper)
}

// tamper edits the rows with SQL on the writer's connection.
func tamper(t *testing.T, st store.Store, e storetest.Edit) {
	t.Helper()
	q, args := "", []any{}
	switch e.What {
	case storetest.EditFailureTime:
		q, args = `UPDATE probe_failures SET at = ? WHERE at = ? AND check_id = (SELECT id FROM checks WHERE name = ?)`,
			[]any{e.To.UnixMilli(), e.At.UnixMilli(), e.Check}
	case storetest.EditFailureError:
		q, args = `UPDATE probe_failures SET error = ? WHERE at = ? AND check_id = (SELECT id FROM checks WHERE name = ?)`,
			[]any{e.Text, e.At.UnixMilli(), e.Check}
	case storetest.EditFailureDelete:
		q, args = `DELETE FROM probe_failures WHERE at = ? AND check_id = (SELECT id FROM checks WHERE name = ?)`,
			[]any{e.At.UnixMilli(), e.Check}
	case storetest.EditEventDetail:
		q, args = `UPDATE incident_events SET detail = ? WHERE incident_id = ? AND kind = ?`, []any{e.Text, e.Incident, e.Kind}
	}
	res, err := st.(*sqlite.DB).Raw().Exec(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s: %d rows", e.What, n)
	}
}
