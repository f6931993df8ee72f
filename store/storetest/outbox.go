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
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		return tx.Enqueue(ctx, []store.OutboxItem{
			{CreatedAt: t0, Destination: "telegram:1", Incident: 0, Op: "send", Payload: []byte(`{"Kind":"down"}`)},
			{CreatedAt: t0, Destination: "telegram:2", Payload: []byte(`{"Kind":"down"}`)}, // send by default
			{CreatedAt: t0.Add(time.Second), Destination: "telegram:1", Op: "edit", Ref: 1, Payload: []byte(`{"Kind":"resolved"}`)},
		})
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
