package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

func testOutbox(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	db := registered(t, open)
	var enqueued []store.OutboxItem
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		enqueued = []store.OutboxItem{
			{CreatedAt: t0, Destination: "telegram:1", Incident: 0, Op: "send", Payload: []byte(`{"Kind":"down"}`)},
			{CreatedAt: t0, Destination: "telegram:2", Payload: []byte(`{"Kind":"down"}`)}, // send by default
		}
		if err := tx.Enqueue(ctx, enqueued); err != nil {
			return err
		}
		// The ID is given at once: an edit in the same transaction
		// refers to the send it edits.
		edit := []store.OutboxItem{{CreatedAt: t0.Add(time.Second), Destination: "telegram:1", Op: "edit", Ref: enqueued[0].ID,
			Payload: []byte(`{"Kind":"resolved"}`)}}
		if err := tx.Enqueue(ctx, edit); err != nil {
			return err
		}
		enqueued = append(enqueued, edit...)
		return nil
	})
	// Nothing of a transaction that fails reaches the outbox.
	err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.Enqueue(ctx, []store.OutboxItem{{CreatedAt: t0, Destination: "telegram:3", Payload: []byte("{}")}}); err != nil {
			return err
		}
		return errors.New("boom")
	})
	if err == nil {
		t.Fatal("the failing transaction succeeded")
	}
	items, err := db.Pending(ctx, 0, 10)
	if err != nil || len(items) != 3 {
		t.Fatalf("pending: %+v, %v", items, err)
	}
	for i, it := range items {
		if it.ID != enqueued[i].ID {
			t.Errorf("item %d has ID %d, was given %d", i, it.ID, enqueued[i].ID)
		}
	}
	first := items[0]
	if first.Destination != "telegram:1" || first.Op != "send" || first.State != store.Pending || string(first.Payload) != `{"Kind":"down"}` ||
		!first.CreatedAt.Equal(t0) || !first.NextAt.Equal(t0) || items[1].Op != "send" || items[2].Op != "edit" || items[2].Ref != first.ID {
		t.Errorf("pending items: %+v", items)
	}
	if after, _ := db.Pending(ctx, first.ID, 10); len(after) != 2 || after[0].ID != items[1].ID {
		t.Errorf("pending after %d: %+v", first.ID, after)
	}
	if page, _ := db.Pending(ctx, 0, 1); len(page) != 1 {
		t.Errorf("a page of one: %+v", page)
	}

	next := t0.Add(time.Minute)
	if err := db.MarkRetry(ctx, items[1].ID, 1, next, "HTTP 502"); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkSent(ctx, first.ID, "msg-77", t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkFailed(ctx, items[2].ID, 3, "chat not found", t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	// Marking what is no longer pending is refused: a message is sent once.
	if err := db.MarkSent(ctx, first.ID, "msg-78", t0.Add(4*time.Second)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("marking a sent message sent again: %v", err)
	}
	sent, err := db.Item(ctx, first.ID)
	if err != nil || sent.State != store.Sent || sent.Receipt != "msg-77" || sent.Attempts != 1 {
		t.Errorf("sent: %+v, %v", sent, err)
	}
	retry, _ := db.Item(ctx, items[1].ID)
	if retry.State != store.Pending || retry.Attempts != 1 || !retry.NextAt.Equal(next) || retry.LastError != "HTTP 502" {
		t.Errorf("to retry: %+v", retry)
	}
	failed, _ := db.Item(ctx, items[2].ID)
	if failed.State != store.Failed || failed.Attempts != 3 || failed.LastError != "chat not found" {
		t.Errorf("failed: %+v", failed)
	}
	if pending, _ := db.Pending(ctx, 0, 10); len(pending) != 1 || pending[0].ID != items[1].ID {
		t.Errorf("pending at the end: %+v", pending)
	}
	if _, err := db.Item(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("item 999: %v", err)
	}
}

func testTakeOnce(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	a, b := open(t), open(t)
	steps := []struct {
		db   store.Store
		key  string
		now  time.Time
		want bool
	}{
		{a, "slack:1:ab", t0, true},
		{a, "slack:1:ab", t0.Add(time.Minute), false},
		{b, "slack:1:ab", t0.Add(2 * time.Minute), false}, // another instance
		{b, "slack:2:ab", t0.Add(2 * time.Minute), true},
		{a, "slack:1:ab", t0.Add(11 * time.Minute), true}, // expired: taken anew
	}
	for i, s := range steps {
		got, err := s.db.TakeOnce(ctx, s.key, s.now, s.now.Add(10*time.Minute))
		if err != nil || got != s.want {
			t.Errorf("step %d: %v, %v; want %v", i, got, err, s.want)
		}
	}
}

// testClaims: each destination with pending messages is claimed by one
// instance at a time; a claim is renewed by its holder, and taken over
// once it is given up or runs out; the last send to a destination is kept
// for its pacing.
func testClaims(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	a, b := registered(t, open), registered(t, open)
	update(t, a, func(ctx context.Context, tx store.Tx) error {
		var items []store.OutboxItem
		for _, d := range []string{"chat:1", "chat:2", "chat:3", "chat:1"} {
			items = append(items, store.OutboxItem{CreatedAt: t0, Destination: d, Payload: []byte("{}")})
		}
		return tx.Enqueue(ctx, items)
	})
	claim := func(st store.Store, holder string, ttl time.Duration, limit int) []string {
		t.Helper()
		cs, err := st.Claim(ctx, holder, ttl, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.Destination)
		}
		return out
	}
	if got := claim(a, "run-a", time.Minute, 2); !equal(got, []string{"chat:1", "chat:2"}) {
		t.Errorf("a claims %v", got)
	}
	if got := claim(b, "run-b", time.Minute, 10); !equal(got, []string{"chat:3"}) {
		t.Errorf("b claims %v, want what a does not hold", got)
	}
	if got := claim(a, "run-a", time.Minute, 10); !equal(got, []string{"chat:1", "chat:2"}) {
		t.Errorf("a renews %v", got)
	}
	items, err := a.PendingTo(ctx, []string{"chat:1", "chat:2"}, 0, 10)
	if err != nil || len(items) != 3 || items[0].Destination != "chat:1" || items[2].Destination != "chat:1" {
		t.Errorf("a's pending: %+v, %v", items, err)
	}
	if after, _ := a.PendingTo(ctx, []string{"chat:1"}, items[0].ID, 10); len(after) != 1 {
		t.Errorf("chat:1 after the first: %+v", after)
	}
	// a is done with chat:2 and gives its claims up: b takes chat:2 once
	// it has a message again.
	if err := a.MarkSent(ctx, items[1].ID, "m1", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := claim(b, "run-b", time.Minute, 10); !equal(got, []string{"chat:3"}) {
		t.Errorf("b claims %v: chat:2 has nothing pending, chat:1 is a's", got)
	}
	if err := a.Unclaim(ctx, "run-a"); err != nil {
		t.Fatal(err)
	}
	update(t, a, func(ctx context.Context, tx store.Tx) error {
		return tx.Enqueue(ctx, []store.OutboxItem{{CreatedAt: t0, Destination: "chat:2", Payload: []byte("{}")}})
	})
	cs, err := b.Claim(ctx, "run-b", time.Minute, 10)
	if err != nil || len(cs) != 3 || cs[1].Destination != "chat:2" || !cs[1].LastSent.Equal(t0.Add(time.Second)) {
		t.Errorf("b claims %+v, %v; want chat:1 given up, and chat:2 with its last send", cs, err)
	}
	// A claim that runs out is taken over.
	if err := b.Unclaim(ctx, "run-b"); err != nil {
		t.Fatal(err)
	}
	if got := claim(a, "run-a", 100*time.Millisecond, 10); !equal(got, []string{"chat:1", "chat:2", "chat:3"}) {
		t.Errorf("a claims %v", got)
	}
	time.Sleep(200 * time.Millisecond)
	if got := claim(b, "run-b", time.Minute, 10); !equal(got, []string{"chat:1", "chat:2", "chat:3"}) {
		t.Errorf("after a's claim ran out b holds %v", got)
	}
	if got := claim(a, "run-a", time.Minute, 10); len(got) != 0 {
		t.Errorf("a holds %v of b's", got)
	}
}
