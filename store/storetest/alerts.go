package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

func testAlertsSilencesWindows(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	db := registered(t, open)
	a := store.Alert{Scope: store.ScopeMerchant, Name: "shop", Opened: t0, FlushAt: t0.Add(10 * time.Second),
		NextAt: t0.Add(10 * time.Second), Triggered: t0}
	var in int64
	sil := store.Silence{Target: "shop/db", Start: t0, End: t0.Add(time.Hour), Reason: "moving", By: "@kim"}
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		var err error
		if in, _, err = tx.OpenIncident(ctx, "shop/web", t0, t0); err != nil {
			return err
		}
		if err := tx.SaveAlert(ctx, &a); err != nil {
			return err
		}
		if err := tx.JoinAlert(ctx, in, a.ID); err != nil {
			return err
		}
		if err := tx.Announce(ctx, in, t0.Add(10*time.Second)); err != nil {
			return err
		}
		if err := tx.Announce(ctx, in, t0.Add(20*time.Second)); err != nil { // the first stays
			return err
		}
		if err := tx.Enqueue(ctx, []store.OutboxItem{{CreatedAt: t0, Destination: "chat:1", Alert: a.ID, Op: "send", Payload: []byte("{}")}}); err != nil {
			return err
		}
		if err := tx.AddSilence(ctx, &sil); err != nil {
			return err
		}
		w := store.Window{Name: "weekly", Start: t0, End: t0.Add(time.Hour), Targets: []string{"shop/db", "shop"}}
		if err := tx.AddWindow(ctx, w); err != nil {
			return err
		}
		return tx.AddWindow(ctx, w) // recorded again after a restart: no error, one row
	})
	if a.ID == 0 || sil.ID == 0 {
		t.Fatalf("no IDs given: alert %d, silence %d", a.ID, sil.ID)
	}
	a.Run, a.Step, a.AckBy, a.AckAt, a.Told, a.Peak, a.Since = 1, 1, "@kim", t0.Add(3*time.Minute), "x", 7, t0.Add(-time.Minute)
	update(t, db, func(ctx context.Context, tx store.Tx) error { return tx.SaveAlert(ctx, &a) })

	db = open(t) // another handle: all of it is in the store
	alerts, err := db.OpenAlerts(ctx)
	if err != nil || len(alerts) != 1 {
		t.Fatalf("open alerts %v, %v", alerts, err)
	}
	got := alerts[0]
	if got.ID != a.ID || got.Scope != store.ScopeMerchant || got.Name != "shop" || got.Run != 1 || got.Step != 1 || got.AckBy != "@kim" ||
		!got.AckAt.Equal(a.AckAt) || !got.FlushAt.Equal(a.FlushAt) || !got.NextAt.Equal(a.NextAt) || got.Told != "x" ||
		!got.Base.IsZero() || got.Peak != 7 || !got.Since.Equal(a.Since) || !got.Triggered.Equal(t0) || !got.Opened.Equal(t0) {
		t.Errorf("alert came back as %+v, want %+v", got, a)
	}
	ins, err := db.Incidents(ctx, store.IncidentFilter{Alert: a.ID})
	if err != nil || len(ins) != 1 || ins[0].Alert != a.ID || !ins[0].Announced.Equal(t0.Add(10*time.Second)) {
		t.Errorf("incidents of the alert: %+v, %v", ins, err)
	}
	if ins, err := db.Incidents(ctx, store.IncidentFilter{Alerts: []int64{a.ID + 1, a.ID}}); err != nil || len(ins) != 1 {
		t.Errorf("incidents of alerts %d and %d: %+v, %v", a.ID+1, a.ID, ins, err)
	}
	if ins, _ := db.Incidents(ctx, store.IncidentFilter{Alerts: []int64{}}); len(ins) != 0 {
		t.Errorf("incidents of no alert: %+v", ins)
	}
	update(t, db, func(ctx context.Context, tx store.Tx) error {
		sends, err := tx.AlertSends(ctx, a.ID)
		if err != nil || len(sends) != 1 || sends[0].Destination != "chat:1" || sends[0].Alert != a.ID || sends[0].Op != "send" {
			t.Errorf("sends of the alert: %+v, %v", sends, err)
		}
		return nil
	})
	ws, err := db.Windows(ctx, t0.Add(30*time.Minute), t0.Add(2*time.Hour))
	if err != nil || len(ws) != 1 || len(ws[0].Targets) != 2 || ws[0].Targets[1] != "shop" || !ws[0].End.Equal(t0.Add(time.Hour)) {
		t.Errorf("windows %+v, %v", ws, err)
	}
	if ws, _ := db.Windows(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour)); len(ws) != 0 {
		t.Errorf("a window that ended at the period's start overlaps it: %+v", ws)
	}
	if ss, err := db.Silences(ctx, t0.Add(time.Minute)); err != nil || len(ss) != 1 || ss[0].Reason != "moving" || ss[0].By != "@kim" || ss[0].Target != "shop/db" {
		t.Errorf("silences %+v, %v", ss, err)
	}
	if ss, _ := db.Silences(ctx, t0.Add(time.Hour)); len(ss) != 0 {
		t.Errorf("a silence past its end is active: %+v", ss)
	}
	lift := func() error {
		return db.Update(ctx, func(tx store.Tx) error { return tx.LiftSilence(ctx, sil.ID, "@ops", t0.Add(time.Minute)) })
	}
	if err := lift(); err != nil {
		t.Fatal(err)
	}
	if err := lift(); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lifting twice: %v, want not found", err)
	}
	if ss, _ := db.Silences(ctx, t0.Add(2*time.Minute)); len(ss) != 0 {
		t.Errorf("a lifted silence is active: %+v", ss)
	}
	a.Closed = t0.Add(time.Hour)
	update(t, db, func(ctx context.Context, tx store.Tx) error { return tx.SaveAlert(ctx, &a) })
	if alerts, _ := db.OpenAlerts(ctx); len(alerts) != 0 {
		t.Errorf("a closed alert is open: %+v", alerts)
	}
}
