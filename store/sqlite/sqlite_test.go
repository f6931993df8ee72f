package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

var t0 = time.Date(2026, 11, 25, 14, 2, 10, 0, time.UTC)

func open(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Register(context.Background(), []string{"shop/web", "shop/db"}); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestMigrationsRunOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db := open(t, path)
	db.Close()
	db = open(t, path) // a second start applies nothing again
	defer db.Close()
	files, _ := migrations.ReadDir("migrations")
	var n int
	var mode string
	if err := db.r.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(files) {
		t.Errorf("migrations applied: %d of %d, %v", n, len(files), err)
	}
	if err := db.r.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q, %v", mode, err)
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestIncidentRecord(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "h.db"))
	defer db.Close()
	fail := func(at time.Time, kind, msg string, incident int64) store.Failure {
		return store.Failure{Check: "shop/web", At: at, Latency: time.Second, Kind: kind, Error: msg, Incident: incident}
	}
	var id int64
	err := db.Update(ctx, func(tx store.Tx) error {
		// Two failures before the incident is confirmed by the third.
		if err := tx.AddFailures(ctx, []store.Failure{
			fail(t0, "timeout", "no answer within 10s", 0),
			fail(t0.Add(30*time.Second), "status", "status 502, want 2xx", 0),
		}); err != nil {
			return err
		}
		var err error
		id, err = tx.OpenIncident(ctx, "shop/web", t0, t0.Add(time.Minute))
		if err != nil {
			return err
		}
		return tx.AddFailures(ctx, []store.Failure{
			fail(t0.Add(time.Minute), "status", "status 503, want 2xx", id),
			fail(t0.Add(90*time.Second), "timeout", "no answer within 10s (again)", id),
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	end := t0.Add(3*time.Hour + 12*time.Minute + 30*time.Second)
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.ResolveIncident(ctx, id, end, "recovery") }); err != nil {
		t.Fatal(err)
	}
	// Resolving twice is refused.
	err = db.Update(ctx, func(tx store.Tx) error { return tx.ResolveIncident(ctx, id, end, "recovery") })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second resolve: %v", err)
	}
	in, err := db.Incident(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if in.Downtime(time.Time{}) != 3*time.Hour+12*time.Minute+30*time.Second || in.Open() {
		t.Errorf("incident = %+v", in)
	}
	want := map[string]store.ErrorSummary{
		"timeout": {Kind: "timeout", Count: 2, First: t0, FirstError: "no answer within 10s", Last: t0.Add(90 * time.Second), LastError: "no answer within 10s (again)"},
		"status":  {Kind: "status", Count: 2, First: t0.Add(30 * time.Second), FirstError: "status 502, want 2xx", Last: t0.Add(time.Minute), LastError: "status 503, want 2xx"},
	}
	if len(in.Errors) != 2 {
		t.Fatalf("errors = %+v", in.Errors)
	}
	for _, e := range in.Errors {
		w := want[e.Kind]
		if e.Count != w.Count || !e.First.Equal(w.First) || !e.Last.Equal(w.Last) || e.FirstError != w.FirstError || e.LastError != w.LastError {
			t.Errorf("%s: got %+v, want %+v", e.Kind, e, w)
		}
	}
	fs, err := db.Failures(ctx, "shop/web", t0, end)
	if err != nil || len(fs) != 4 || fs[0].Incident != id {
		t.Errorf("failures = %+v, %v", fs, err)
	}
	// A failed transaction leaves nothing behind.
	boom := errors.New("boom")
	err = db.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.OpenIncident(ctx, "shop/db", t0, t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
	if all, _ := db.Incidents(ctx, store.IncidentFilter{}); len(all) != 1 {
		t.Errorf("a rolled back incident was kept: %+v", all)
	}
	// Unknown checks are refused, not invented.
	err = db.Update(ctx, func(tx store.Tx) error { return tx.AddFailures(ctx, []store.Failure{{Check: "nope/x", At: t0}}) })
	if err == nil {
		t.Error("an unregistered check was accepted")
	}
}

func TestStatsAndCompaction(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "h.db"))
	defer db.Close()
	day := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	var ss []store.Stat
	for h := range 24 {
		ss = append(ss, store.Stat{Check: "shop/web", Period: day.Add(time.Duration(h) * time.Hour), OK: 120, Failed: 0,
			LatencySum: 120 * 50 * time.Millisecond, LatencyMax: time.Duration(h+1) * 10 * time.Millisecond})
	}
	recent := t0.Truncate(time.Hour)
	ss = append(ss, store.Stat{Check: "shop/web", Period: recent, OK: 100, Failed: 20})
	add := func(ss []store.Stat) {
		if err := db.Update(ctx, func(tx store.Tx) error { return tx.AddStats(ctx, ss) }); err != nil {
			t.Fatal(err)
		}
	}
	add(ss)
	add([]store.Stat{{Check: "shop/web", Period: recent.Add(5 * time.Minute), OK: 1, Failed: 1}}) // same hour: summed
	if err := db.Update(ctx, func(tx store.Tx) error {
		return tx.AddFailures(ctx, []store.Failure{{Check: "shop/web", At: t0.Add(-500 * 24 * time.Hour), Kind: "refused", Error: "old"}})
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Compact(ctx, t0); err != nil {
		t.Fatal(err)
	}
	got, err := db.Stats(ctx, "shop/web", day.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("want one daily row and one hourly row, got %+v", got)
	}
	daily, hourly := got[0], got[1]
	if !daily.Period.Equal(day) || daily.OK != 24*120 || daily.LatencySum != 24*120*50*time.Millisecond || daily.LatencyMax != 240*time.Millisecond {
		t.Errorf("daily = %+v", daily)
	}
	if hourly.OK != 101 || hourly.Failed != 21 {
		t.Errorf("hourly = %+v", hourly)
	}
	fs, _ := db.Failures(ctx, "shop/web", time.Time{}, t0)
	if len(fs) != 0 {
		t.Errorf("failures past retention kept: %+v", fs)
	}
	// Compacting again changes nothing.
	if err := db.Compact(ctx, t0); err != nil {
		t.Fatal(err)
	}
	again, _ := db.Stats(ctx, "shop/web", day.Add(-time.Hour), t0.Add(time.Hour))
	if len(again) != 2 || again[0].OK != daily.OK {
		t.Errorf("second compaction changed %+v into %+v", got, again)
	}
}

func TestCheckStateRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	db := open(t, path)
	s := store.CheckState{Check: "shop/db", State: store.Down, Since: t0, FailStreak: 7, StreakSince: t0, Incident: 0}
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.SaveCheckState(ctx, s) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = open(t, path)
	defer db.Close()
	states, err := db.CheckStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := states["shop/db"]
	if got.State != store.Down || !got.Since.Equal(t0) || got.FailStreak != 7 || !got.StreakSince.Equal(t0) {
		t.Errorf("state after reopen = %+v", got)
	}
	if states["shop/web"].State != store.Unknown {
		t.Errorf("a new check = %+v", states["shop/web"])
	}
}

func TestIncidentsByMerchant(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "h.db"))
	defer db.Close()
	db.Register(ctx, []string{"kim_shop/web", "kimXshop/web"})
	for _, c := range []string{"shop/web", "kim_shop/web", "kimXshop/web"} {
		if err := db.Update(ctx, func(tx store.Tx) error { _, err := tx.OpenIncident(ctx, c, t0, t0); return err }); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		merchants []string
		want      int
	}{
		{nil, 3},
		{[]string{}, 0},
		{[]string{"kim_shop"}, 1}, // '_' is no wildcard here
		{[]string{"shop", "kimXshop"}, 2},
	}
	for _, tt := range tests {
		got, err := db.Incidents(ctx, store.IncidentFilter{Merchants: tt.merchants})
		if err != nil || len(got) != tt.want {
			t.Errorf("merchants %v: %d incidents, %v; want %d", tt.merchants, len(got), err, tt.want)
		}
	}
}

func TestAlertsSilencesWindows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	db := open(t, path)
	a := store.Alert{Scope: store.ScopeMerchant, Name: "shop", Opened: t0, FlushAt: t0.Add(10 * time.Second),
		NextAt: t0.Add(10 * time.Second), Triggered: t0}
	var in int64
	sil := store.Silence{Target: "shop/db", Start: t0, End: t0.Add(time.Hour), Reason: "moving", By: "@kim"}
	err := db.Update(ctx, func(tx store.Tx) error {
		var err error
		if in, err = tx.OpenIncident(ctx, "shop/web", t0, t0); err != nil {
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
	if err != nil {
		t.Fatal(err)
	}
	a.Run, a.Step, a.AckBy, a.AckAt, a.Told = 1, 1, "@kim", t0.Add(3*time.Minute), "x"
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.SaveAlert(ctx, &a) }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = open(t, path)
	defer db.Close()
	alerts, err := db.OpenAlerts(ctx)
	if err != nil || len(alerts) != 1 {
		t.Fatalf("open alerts %v, %v", alerts, err)
	}
	got := alerts[0]
	if got.ID != a.ID || got.Run != 1 || got.Step != 1 || got.AckBy != "@kim" || !got.AckAt.Equal(a.AckAt) ||
		!got.FlushAt.Equal(a.FlushAt) || got.Told != "x" || !got.Base.IsZero() {
		t.Errorf("alert came back as %+v, want %+v", got, a)
	}
	ins, err := db.Incidents(ctx, store.IncidentFilter{Alert: a.ID})
	if err != nil || len(ins) != 1 || ins[0].Alert != a.ID || !ins[0].Announced.Equal(t0.Add(10*time.Second)) {
		t.Errorf("incidents of the alert: %+v, %v", ins, err)
	}
	err = db.Update(ctx, func(tx store.Tx) error {
		sends, err := tx.AlertSends(ctx, a.ID)
		if err != nil || len(sends) != 1 || sends[0].Destination != "chat:1" || sends[0].Alert != a.ID {
			t.Errorf("sends of the alert: %+v, %v", sends, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := db.Windows(ctx, t0.Add(30*time.Minute), t0.Add(2*time.Hour))
	if err != nil || len(ws) != 1 || len(ws[0].Targets) != 2 {
		t.Errorf("windows %+v, %v", ws, err)
	}
	if ws, _ := db.Windows(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour)); len(ws) != 0 {
		t.Errorf("a window that ended at the period's start overlaps it: %+v", ws)
	}
	if ss, err := db.Silences(ctx, t0.Add(time.Minute)); err != nil || len(ss) != 1 || ss[0].Reason != "moving" {
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
}

// TestTakeOnce: a key is taken once until it expires, by any connection to
// the same file, and again after.
func TestTakeOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	a, b := open(t, path), open(t, path)
	defer a.Close()
	defer b.Close()
	steps := []struct {
		db   *DB
		key  string
		now  time.Time
		want bool
	}{
		{a, "slack:1:ab", t0, true},
		{a, "slack:1:ab", t0.Add(time.Minute), false},
		{b, "slack:1:ab", t0.Add(2 * time.Minute), false},
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

// TestPingAfterACorruptWrite: a write that meets a corrupted page makes
// Ping say the store refuses writes, and why, naming no file.
func TestPingAfterACorruptWrite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	db := open(t, path)
	err := db.Update(ctx, func(tx store.Tx) error {
		var fs []store.Failure
		for i := range 2000 {
			fs = append(fs, store.Failure{Check: "shop/web", At: t0.Add(time.Duration(i) * time.Second), Kind: "status",
				Error: "status 502, want 2xx", Evidence: string(make([]byte, 200))})
		}
		return tx.AddFailures(ctx, fs)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Scribble over pages in the middle of the file.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	junk := make([]byte, 16<<10)
	for i := range junk {
		junk[i] = byte(i*7 + 3)
	}
	f.WriteAt(junk, fi.Size()/2)
	f.Close()

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("before any write: %v", err)
	}
	err = db.Update(ctx, func(tx store.Tx) error {
		_, err := tx.OpenIncident(ctx, "shop/web", t0, t0.Add(time.Hour)) // claims every failure
		return err
	})
	if err == nil {
		t.Fatal("a write over a corrupted page succeeded")
	}
	var u *store.Unwritable
	if perr := db.Ping(ctx); !errors.As(perr, &u) || u.Reason != "database disk image is malformed" {
		t.Errorf("ping after %v: %v", err, perr)
	}
}
