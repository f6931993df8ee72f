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
	}, tamper)
}

// tamper edits the rows with SQL on the store's pool.
func tamper(t *testing.T, st store.Store, e storetest.Edit) {
	t.Helper()
	q, args := "", []any{}
	switch e.What {
	case storetest.EditFailureTime:
		q, args = `UPDATE probe_failures SET at = $1 WHERE at = $2 AND check_id = (SELECT id FROM checks WHERE name = $3)`,
			[]any{e.To, e.At, e.Check}
	case storetest.EditFailureError:
		q, args = `UPDATE probe_failures SET error = $1 WHERE at = $2 AND check_id = (SELECT id FROM checks WHERE name = $3)`,
			[]any{e.Text, e.At, e.Check}
	case storetest.EditFailureDelete:
		q, args = `DELETE FROM probe_failures WHERE at = $1 AND check_id = (SELECT id FROM checks WHERE name = $2)`,
			[]any{e.At, e.Check}
	case storetest.EditEventDetail:
		q, args = `UPDATE incident_events SET detail = $1 WHERE incident_id = $2 AND kind = $3`, []any{e.Text, e.Incident, e.Kind}
	}
	tag, err := st.(*postgres.DB).Raw().Exec(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n := tag.RowsAffected(); n != 1 {
		t.Fatalf("%s: %d rows", e.What, n)
	}
}
