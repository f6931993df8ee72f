package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

// The edits a Tamper makes.
const (
	EditFailureTime   = "failure time"   // moves the failure of Check at At to To
	EditFailureError  = "failure error"  // sets its error to Text
	EditFailureDelete = "failure delete" // deletes it
	EditEventDetail   = "event detail"   // sets the detail of Incident's event of Kind to Text
)

// Edit is one change a Tamper makes behind the store's back.
type Edit struct {
	What     string
	Check    string
	At, To   time.Time
	Text     string
	Incident int64
	Kind     string
}

// Tamper changes a store's rows with raw SQL, as anyone with the
// database's password could.
type Tamper func(t *testing.T, st store.Store, e Edit)

// chainRecord writes an outage of shop/web: three failures, the change
// down with its incident, an acknowledgement, the change up. It returns
// the incident.
func chainRecord(t *testing.T, st store.Store) int64 {
	t.Helper()
	var fs []store.Failure
	for i := range 3 {
		fs = append(fs, store.Failure{Check: "shop/web", At: t0.Add(time.Duration(i) * time.Second), Kind: "status",
			Error: "status 502, want 2xx", Latency: time.Millisecond})
	}
	update(t, st, func(ctx context.Context, tx store.Tx) error { return tx.AddFailures(ctx, fs) })
	update(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.RecordChange(ctx, store.Change{Check: "shop/web", From: store.Up, To: store.Down, Since: t0,
			Confirmed: t0.Add(2 * time.Second), Now: t0.Add(2 * time.Second), Detail: "status 502 | want 2xx"})
	})
	is, err := st.Incidents(context.Background(), store.IncidentFilter{OpenOnly: true})
	if err != nil || len(is) != 1 {
		t.Fatalf("open incidents: %v, %v", is, err)
	}
	update(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.Acknowledge(ctx, is[0].ID, "kim", t0.Add(3*time.Second))
	})
	update(t, st, func(ctx context.Context, tx store.Tx) error {
		return tx.RecordChange(ctx, store.Change{Check: "shop/web", From: store.Down, To: store.Up, Since: t0.Add(4 * time.Second),
			Confirmed: t0.Add(5 * time.Second), Now: t0.Add(5 * time.Second), Detail: "recovered"})
	})
	return is[0].ID
}

func verifier(t *testing.T, st store.Store) store.Verifier {
	t.Helper()
	v, ok := st.(store.Verifier)
	if !ok {
		t.Fatalf("%T keeps no chain", st)
	}
	return v
}

func testChain(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	st := registered(t, open)
	v := verifier(t, st)

	// A transaction rolled back leaves no entry.
	fail := errors.New("rolled back")
	err := st.Update(ctx, func(tx store.Tx) error {
		if err := tx.AddFailures(ctx, []store.Failure{{Check: "shop/db", At: t0, Kind: "tcp", Error: "refused"}}); err != nil {
			return err
		}
		return fail
	})
	if !errors.Is(err, fail) {
		t.Fatal(err)
	}
	if seq, hash, _, err := v.ChainHead(ctx); err != nil || seq != 0 || hash != "" {
		t.Fatalf("head after a rollback: %d %q %v", seq, hash, err)
	}

	chainRecord(t, st)
	// 3 failures, opened and its state change, the ack, resolved and its
	// state change.
	const entries = 8
	seq, hash, at, err := v.ChainHead(ctx)
	if err != nil || seq != entries || len(hash) != 64 || !at.Equal(t0.Add(4*time.Second)) {
		t.Fatalf("head: %d %q %v %v", seq, hash, at, err)
	}
	got, bad, err := v.VerifyChain(ctx, time.Time{})
	if err != nil || bad != nil {
		t.Fatalf("verify an untouched record: %v, %v", bad, err)
	}
	if got.Entries != entries || got.First.Seq != 1 || got.First.Prev != store.ChainGenesis || got.Last.Hash != hash {
		t.Errorf("verified %+v", got)
	}
	if want := "failure|shop/web|2026-11-25T14:02:10.000Z|status|status 502, want 2xx"; got.First.Content != want {
		t.Errorf("first content %q, want %q", got.First.Content, want)
	}
	// From a time on: the first entry at or after it, linked to the one
	// before.
	got, bad, err = v.VerifyChain(ctx, t0.Add(time.Second))
	if err != nil || bad != nil || got.Entries != entries-1 || got.First.Seq != 2 {
		t.Fatalf("verify from the second failure: %+v, %v, %v", got, bad, err)
	}

	// Another handle, as another instance, continues the same chain.
	other := open(t)
	update(t, other, func(ctx context.Context, tx store.Tx) error {
		return tx.AddFailures(ctx, []store.Failure{{Check: "shop/db", At: t0.Add(time.Minute), Kind: "tcp", Error: "refused"}})
	})
	got, bad, err = v.VerifyChain(ctx, time.Time{})
	if err != nil || bad != nil || got.Entries != entries+1 || got.Last.Prev != hash {
		t.Fatalf("after another handle's write: %+v, %v, %v", got, bad, err)
	}

	// Compaction drops old failures; their entries still verify.
	if err := st.Compact(ctx, t0.Add(store.FailuresFor+90*time.Second)); err != nil {
		t.Fatal(err)
	}
	if fs, _ := st.Failures(ctx, "shop/web", t0, t0.Add(time.Hour)); len(fs) != 0 {
		t.Fatalf("failures kept past retention: %v", fs)
	}
	got, bad, err = v.VerifyChain(ctx, time.Time{})
	if err != nil || bad != nil || got.Entries != entries+2 || got.Last.Kind != store.ChainCompact {
		t.Fatalf("after compaction: %+v, %v, %v", got, bad, err)
	}
}

// testChainConcurrent appends from two handles at once, as two instances
// would: the chain does not fork.
func testChainConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	handles := []store.Store{registered(t, open), open(t)}
	const each = 20
	errs := make(chan error, 2*each)
	for h, st := range handles {
		for i := range each {
			go func() {
				at := t0.Add(time.Duration(h*each+i) * time.Second)
				errs <- st.Update(ctx, func(tx store.Tx) error {
					return tx.AddFailures(ctx, []store.Failure{
						{Check: "shop/web", At: at, Kind: "status", Error: "status 502"},
						{Check: "shop/db", At: at, Kind: "tcp", Error: "refused"},
					})
				})
			}()
		}
	}
	for range 2 * each {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, bad, err := verifier(t, handles[1]).VerifyChain(ctx, time.Time{})
	if err != nil || bad != nil || got.Entries != 2*2*each {
		t.Fatalf("after appends at once: %+v, %v, %v", got, bad, err)
	}
}

// tamperTests are the edits the chain must find, each with the entry
// that must be named.
func tamperTests(tamper Tamper) []struct {
	name string
	fn   func(t *testing.T, open func(t *testing.T) store.Store)
} {
	cases := []struct {
		name    string
		edit    Edit
		seq     int64
		ref     string
		problem string
	}{
		{"ChainFindsAFailureMoved", Edit{What: EditFailureTime, Check: "shop/web", At: t0.Add(time.Second), To: t0.Add(1500 * time.Millisecond)},
			2, "shop/web 2026-11-25T14:02:11.000Z", "the row is gone"},
		{"ChainFindsAnErrorEdited", Edit{What: EditFailureError, Check: "shop/web", At: t0.Add(2 * time.Second), Text: "status 200"},
			3, "shop/web 2026-11-25T14:02:12.000Z", "its error differs"},
		{"ChainFindsAFailureDeleted", Edit{What: EditFailureDelete, Check: "shop/web", At: t0},
			1, "shop/web 2026-11-25T14:02:10.000Z", "the row is gone"},
		{"ChainFindsAnEventEdited", Edit{What: EditEventDetail, Kind: "resolved", Text: "all fine"},
			7, "2026-11-25T14:02:15.000Z resolved", "its detail differs"},
	}
	var out []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) store.Store)
	}
	for _, c := range cases {
		out = append(out, struct {
			name string
			fn   func(t *testing.T, open func(t *testing.T) store.Store)
		}{c.name, func(t *testing.T, open func(t *testing.T) store.Store) {
			ctx := context.Background()
			st := registered(t, open)
			incident := chainRecord(t, st)
			e := c.edit
			if e.What == EditEventDetail {
				e.Incident = incident
			}
			tamper(t, st, e)
			_, bad, err := verifier(t, st).VerifyChain(ctx, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if bad == nil {
				t.Fatal("the edit was not found")
			}
			if bad.Seq != c.seq || !strings.HasSuffix(bad.Ref, c.ref) || bad.Problem != c.problem {
				t.Errorf("found %q (entry %d), want entry %d, %s: %s", bad.Error(), bad.Seq, c.seq, c.ref, c.problem)
			}
		}})
	}
	return out
}
