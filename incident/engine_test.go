package incident_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/incident"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

var t0 = time.Date(2026, 11, 25, 14, 2, 0, 0, time.UTC)

// shop is an httptest shop that can be taken down.
type shop struct {
	*httptest.Server
	down atomic.Bool
}

func newShop(t *testing.T) *shop {
	s := &shop{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.down.Load() {
			http.Error(w, "502 bad gateway", http.StatusBadGateway)
			return
		}
		w.Write([]byte("<h1>cart</h1>"))
	}))
	t.Cleanup(s.Close)
	return s
}

// router sends every check's messages to two destinations, one of which
// can edit its messages.
type router struct{}

func (router) Notify(_ string, names []string) []string {
	var out []string
	for _, n := range names {
		switch n {
		case "owner":
			out = append(out, "chat:1", "webhook:ops")
		case "admins":
			out = append(out, "chat:admin")
		}
	}
	return out
}
func (router) Admins() []string          { return []string{"chat:admin"} }
func (router) Editable(dest string) bool { return dest == "chat:1" }

// outbox reads what the engine wrote to the outbox, oldest first.
func outbox(t *testing.T, st store.Outbox) []store.OutboxItem {
	t.Helper()
	items, err := st.Pending(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func decode(t *testing.T, it store.OutboxItem) notifier.Message {
	t.Helper()
	m, err := notifier.Decode(it.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// daemon is the watch loop as `hostwatch run` wires it, on a fake clock.
type daemon struct {
	t      *testing.T
	clock  *clockwork.FakeClock
	store  *sqlite.DB
	engine *incident.Engine
	mon    *monitor.Monitor
	cancel context.CancelFunc
	done   chan struct{}
}

func start(t *testing.T, clock *clockwork.FakeClock, path string, cs []*config.Check) *daemon {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	if err := st.Register(ctx, ids); err != nil {
		t.Fatal(err)
	}
	states, err := st.CheckStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The engine's own timers run on the real clock: only probes are
	// driven by the test.
	engine, err := incident.New(ctx, incident.Options{Store: st, Router: router{}})
	if err != nil {
		t.Fatal(err)
	}
	mon, err := monitor.New(monitor.Options{Checks: cs, Env: checks.NewEnv(checks.EnvOptions{}), Sink: engine, States: states, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	d := &daemon{t: t, clock: clock, store: st, engine: engine, mon: mon, cancel: cancel, done: make(chan struct{})}
	engineDone := make(chan struct{})
	go func() { engine.Run(runCtx); close(engineDone) }()
	go func() {
		mon.Run(runCtx)
		engine.Close()
		<-engineDone
		close(d.done)
	}()
	return d
}

// stop shuts down as on SIGTERM and closes the store.
func (d *daemon) stop() {
	d.cancel()
	<-d.done
	if err := d.store.Close(); err != nil {
		d.t.Fatal(err)
	}
}

// tick advances the clock one second and waits for the probe it starts.
func (d *daemon) tick() {
	d.t.Helper()
	before := d.mon.Statuses()[0].Probes
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.clock.BlockUntilContext(ctx, 1); err != nil {
		d.t.Fatal("scheduler not waiting:", err)
	}
	d.clock.Advance(time.Second)
	eventually(d.t, "the probe", func() bool {
		s := d.mon.Statuses()[0]
		return s.Probes > before && !s.Running
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func storefront(t *testing.T, url string) *config.Check {
	s, err := config.CronParser.Parse("@every 1s")
	if err != nil {
		t.Fatal(err)
	}
	return &config.Check{
		ID: "kim-shop/storefront", Name: "storefront", Schedule: "@every 1s", Cron: s,
		Timeout: config.Duration{Duration: 5 * time.Second}, DownAfter: 3, UpAfter: 2,
		HTTP: &config.HTTPCheck{URL: url, Method: "GET", Contains: "cart"},
	}
}

func incidents(t *testing.T, st store.Store) []store.Incident {
	t.Helper()
	in, err := st.Incidents(context.Background(), store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestOutageThroughRestart: a shop goes down, the daemon restarts during
// the outage, the shop comes back. One incident, exact start and end.
func TestOutageThroughRestart(t *testing.T) {
	s := newShop(t)
	path := filepath.Join(t.TempDir(), "hostwatch.db")
	clock := clockwork.NewFakeClockAt(t0)
	c := storefront(t, s.URL)

	d := start(t, clock, path, []*config.Check{c})
	last := func() time.Time { return d.mon.Statuses()[0].LastAt }
	d.tick()
	d.tick()
	s.down.Store(true)
	wentDown := clock.Now()
	d.tick() // fail 1: the outage starts here
	wantStart := last()
	d.tick() // fail 2
	d.tick() // fail 3: confirmed
	wantConfirmed := last()
	eventually(t, "the incident", func() bool { return len(incidents(t, d.store)) == 1 })
	d.tick() // :05 fail 4
	d.stop()

	// Restarted while the shop is still down.
	d = start(t, clock, path, []*config.Check{c})
	if got := d.engine.OpenIncident(context.Background(), c.ID); got != 1 {
		t.Fatalf("after restart the open incident is #%d, want #1", got)
	}
	d.tick()
	d.tick()
	s.down.Store(false)
	cameBack := clock.Now()
	d.tick() // first success: the outage ends here
	end := last()
	d.tick() // second success: confirmed
	d.tick()
	eventually(t, "recovery", func() bool { return !incidents(t, d.store)[0].Open() })
	d.stop()

	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	all := incidents(t, st)
	if len(all) != 1 {
		t.Fatalf("want exactly one incident, got %d: %+v", len(all), all)
	}
	got := all[0]
	if !got.Start.Equal(wantStart) || !got.Confirmed.Equal(wantConfirmed) || !got.End.Equal(end) {
		t.Errorf("incident #%d: start %v confirmed %v end %v; want start %v confirmed %v end %v",
			got.ID, got.Start, got.Confirmed, got.End, wantStart, wantConfirmed, end)
	}
	// Within one interval of when the shop really went down and came back.
	if d := got.Start.Sub(wentDown); d < 0 || d > time.Second {
		t.Errorf("start is %v after the shop went down", d)
	}
	if d := got.End.Sub(cameBack); d < 0 || d > time.Second {
		t.Errorf("end is %v after the shop came back", d)
	}
	if got.Downtime(time.Time{}) != end.Sub(wantStart) {
		t.Errorf("downtime %v, want %v", got.Downtime(time.Time{}), end.Sub(wantStart))
	}
	// Every failed probe is evidence: 4 before the restart, at least 2
	// after (the restarted scheduler may probe once more at once).
	fails, err := st.Failures(context.Background(), c.ID, t0, t0.Add(time.Hour))
	if err != nil || len(fails) < 6 {
		t.Errorf("%d failed probes recorded, want 6 or more (%v)", len(fails), err)
	}
	if len(got.Errors) != 1 || got.Errors[0].Kind != "status" || got.Errors[0].Count != len(fails) ||
		!got.Errors[0].First.Equal(wantStart) || got.Errors[0].FirstError != "status 502, want 2xx" {
		t.Errorf("errors = %+v, want all %d failures counted", got.Errors, len(fails))
	}
	events, err := st.Events(context.Background(), got.ID)
	if err != nil || len(events) != 3 || events[0].Kind != "opened" || events[1].Kind != "notified" || events[2].Kind != "resolved" {
		t.Errorf("timeline = %+v, %v", events, err)
	}
	states, _ := st.CheckStates(context.Background())
	if s := states[c.ID]; s.State != store.Up || s.Incident != 0 || !s.Since.Equal(end) {
		t.Errorf("saved state = %+v", s)
	}

	// In the outbox, in order: the down message to both destinations, then
	// for the chat that can edit an edit of its down message, and the
	// resolved message to both.
	items := outbox(t, st)
	var seen []string
	for _, it := range items {
		m := decode(t, it)
		if m.Incident != 1 || it.Incident != 1 {
			t.Errorf("item %d is about #%d", it.ID, m.Incident)
		}
		seen = append(seen, fmt.Sprintf("%s %s %s", it.Destination, it.Op, m.Kind))
	}
	want := []string{
		"chat:1 send down", "webhook:ops send down",
		"chat:1 edit resolved", "chat:1 send resolved", "webhook:ops send resolved",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Fatalf("outbox:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	if items[2].Ref != items[0].ID {
		t.Errorf("the edit refers to message %d, want the down message %d", items[2].Ref, items[0].ID)
	}
	down, up := decode(t, items[0]), decode(t, items[3])
	if !down.Start.Equal(wantStart) || up.Downtime() != end.Sub(wantStart) {
		t.Errorf("messages say start %v downtime %v", down.Start, up.Downtime())
	}
}

// newStore opens a store in a temporary folder that knows checks, closed
// when the test ends.
func newStore(t *testing.T, checks ...string) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Register(ctx, checks); err != nil {
		t.Fatal(err)
	}
	return db
}

// failed is the ith failed probe (from 0) of c in a row since t0, one a
// second; the third confirms the outage.
func failed(c *config.Check, i int) monitor.Observation {
	o := monitor.Observation{Check: c, At: t0.Add(time.Duration(i) * time.Second),
		Result: checks.Result{Kind: "refused", Error: "connection refused"},
		State:  store.CheckState{Check: c.ID, State: store.Unknown, FailStreak: i + 1, StreakSince: t0}}
	if i >= 2 {
		o.State.State, o.State.Since = store.Down, t0
	}
	if i == 2 {
		o.Change = &monitor.Change{From: store.Unknown, To: store.Down, Since: t0}
	}
	return o
}

// flaky refuses the first writes, as a full disk or a locked database would.
type flaky struct {
	store.Store
	refuse atomic.Int32
}

func (f *flaky) Update(ctx context.Context, fn func(store.Tx) error) error {
	if f.refuse.Add(-1) >= 0 {
		return errors.New("disk I/O error")
	}
	return f.Store.Update(ctx, fn)
}

// TestRefusedWritesAreRetried: while the store refuses writes the outage is
// held, and once it accepts them the incident is recorded and announced
// exactly once.
func TestRefusedWritesAreRetried(t *testing.T) {
	ctx := context.Background()
	c := storefront(t, "http://127.0.0.1:1/")
	db := newStore(t, c.ID)
	st := &flaky{Store: db}
	st.refuse.Store(3)
	e, err := incident.New(ctx, incident.Options{Store: st, Router: router{}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	for i := range 3 {
		e.Observe(failed(c, i))
	}
	eventually(t, "the write to go through", func() bool { return len(incidents(t, db)) == 1 })
	e.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	all := incidents(t, db)
	if len(all) != 1 || !all[0].Start.Equal(t0) || all[0].Errors[0].Count != 3 {
		t.Fatalf("incidents = %+v", all)
	}
	if items := outbox(t, db); len(items) != 2 || decode(t, items[0]).Kind != notifier.Down {
		t.Errorf("outbox = %+v", items)
	}
}

// TestUndeliverableIsReportedToAdmins: a message refused for good is
// reported to the admins' other destinations, and a report is never
// reported in turn.
func TestUndeliverableIsReportedToAdmins(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	woke := 0
	e, err := incident.New(ctx, incident.Options{Store: db, Router: router{}, Wake: func() { woke++ }})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(notifier.Message{Kind: notifier.Down, Incident: 3, Merchant: "kim-shop", Check: "kim-shop/web"})
	failed := store.OutboxItem{ID: 9, Destination: "chat:1", Incident: 3, Payload: payload}
	e.ReportUndeliverable(ctx, failed, errors.New("telegram: Forbidden: bot was blocked by the user"))
	items := outbox(t, db)
	if len(items) != 1 || items[0].Destination != "chat:admin" || woke != 1 {
		t.Fatalf("outbox = %+v, woke %d", items, woke)
	}
	m := decode(t, items[0])
	if m.Kind != notifier.DeliveryFailed || m.Destination != "chat:1" || !strings.Contains(m.Detail, "blocked") || m.Incident != 3 {
		t.Errorf("report = %+v", m)
	}
	// The report itself cannot reach the admins: no report about it.
	e.ReportUndeliverable(ctx, items[0], errors.New("chat not found"))
	if n := len(outbox(t, db)); n != 1 {
		t.Errorf("%d items: a report was reported", n)
	}
}

// TestResolveByHand: a person closes an incident; its contacts hear it, the
// later recovery of the check says nothing more, and the next outage opens
// a new incident.
func TestResolveByHand(t *testing.T) {
	s := newShop(t)
	clock := clockwork.NewFakeClockAt(t0)
	c := storefront(t, s.URL)
	c.DownAfter, c.UpAfter = 1, 1
	d := start(t, clock, filepath.Join(t.TempDir(), "h.db"), []*config.Check{c})
	defer d.stop()
	s.down.Store(true)
	d.tick()
	eventually(t, "the incident", func() bool { return d.engine.OpenIncident(context.Background(), c.ID) == 1 })
	in, err := d.engine.Resolve(context.Background(), 1, "@kim")
	if err != nil || in.ResolvedBy != "@kim" || in.Open() {
		t.Fatalf("resolve: %+v, %v", in, err)
	}
	if _, err := d.engine.Resolve(context.Background(), 1, "@kim"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second resolve: %v", err)
	}
	d.tick() // still down: no new incident while it has not recovered
	s.down.Store(false)
	d.tick() // recovered: nothing to say
	s.down.Store(true)
	d.tick() // down again: a new incident
	eventually(t, "the second incident", func() bool { return d.engine.OpenIncident(context.Background(), c.ID) == 2 })
	eventually(t, "its alert", func() bool { return len(outbox(t, d.store)) == 7 })

	var seen []string
	for _, it := range outbox(t, d.store) {
		m := decode(t, it)
		seen = append(seen, fmt.Sprintf("#%d %s %s %s", m.Incident, it.Destination, it.Op, m.Kind))
		if m.Kind == notifier.Resolved && m.ResolvedBy != "@kim" {
			t.Errorf("resolution says %+v", m)
		}
	}
	want := []string{
		"#1 chat:1 send down", "#1 webhook:ops send down",
		"#1 chat:1 edit resolved", "#1 chat:1 send resolved", "#1 webhook:ops send resolved",
		"#2 chat:1 send down", "#2 webhook:ops send down",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("outbox:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

// TestAckLeavesAdminNoticesAlone: the admins' notice that an alert could
// not be delivered is not an alert of the incident, and acknowledging the
// incident does not turn it into one.
func TestAckLeavesAdminNoticesAlone(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Register(ctx, []string{"kim-shop/web"})
	var n int64
	if err := db.Update(ctx, func(tx store.Tx) error { n, _, err = tx.OpenIncident(ctx, "kim-shop/web", t0, t0); return err }); err != nil {
		t.Fatal(err)
	}
	down, _ := json.Marshal(notifier.Message{Kind: notifier.Down, Incident: n, Check: "kim-shop/web"})
	db.Update(ctx, func(tx store.Tx) error {
		return tx.Enqueue(ctx, []store.OutboxItem{{CreatedAt: t0, Destination: "chat:1", Incident: n, Op: "send", Payload: down}})
	})
	// An incident and its alert written before alerts existed.
	e, err := incident.New(ctx, incident.Options{Store: db, Router: adminEditable{}})
	if err != nil {
		t.Fatal(err)
	}
	e.ReportUndeliverable(ctx, store.OutboxItem{ID: 1, Destination: "chat:1", Incident: n, Payload: down}, errors.New("blocked"))
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go e.Run(runCtx)
	if _, err := e.Acknowledge(ctx, n, "@ops"); err != nil {
		t.Fatal(err)
	}
	edits := 0
	for _, it := range outbox(t, db) {
		if it.Op == "edit" && it.Destination != "chat:1" {
			t.Errorf("acknowledging edited %s, which got only the admins' notice", it.Destination)
		}
		if it.Op == "edit" && it.Destination == "chat:1" && it.Ref == 1 && decode(t, it).AckBy == "@ops" {
			edits++
		}
	}
	if edits != 1 {
		for _, it := range outbox(t, db) {
			t.Logf("%d %s %s ref %d %+v", it.ID, it.Op, it.Destination, it.Ref, decode(t, it))
		}
		t.Errorf("the alert sent before alerts existed was edited %d times, want once", edits)
	}
}

type adminEditable struct{}

func (adminEditable) Notify(string, []string) []string { return []string{"chat:1"} }
func (adminEditable) Admins() []string                 { return []string{"chat:admin"} }
func (adminEditable) Editable(string) bool             { return true }

// TestChangeIsNotHeldByTheLinger: with a long linger, the probe that
// confirms an outage is written and decided at once, taking with it the
// failures queued before it, and the dispatcher is woken; a failure that
// changes nothing waits for the batch.
func TestChangeIsNotHeldByTheLinger(t *testing.T) {
	ctx := context.Background()
	c := storefront(t, "http://127.0.0.1:1/")
	db := newStore(t, c.ID)
	woke := make(chan struct{}, 1)
	wake := func() {
		select {
		case woke <- struct{}{}:
		default:
		}
	}
	e, err := incident.New(ctx, incident.Options{Store: db, Router: router{}, Wake: wake, Linger: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	failures := func() int {
		fs, err := db.Failures(ctx, c.ID, t0, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return len(fs)
	}

	// Two failures start a batch that would linger an hour; the third
	// confirms the outage.
	for i := range 3 {
		e.Observe(failed(c, i))
	}
	select {
	case <-woke:
	case <-time.After(10 * time.Second):
		t.Fatal("the dispatcher was not woken: the change waited for the linger")
	}
	if items := outbox(t, db); len(items) != 2 || decode(t, items[0]).Kind != notifier.Down {
		t.Errorf("outbox = %+v", items)
	}
	if n := failures(); n != 3 {
		t.Errorf("%d failures recorded with the change, want the 3 queued before it", n)
	}

	// A failure of the outage under way changes nothing: it waits.
	e.Observe(failed(c, 3))
	time.Sleep(200 * time.Millisecond)
	if n := failures(); n != 3 {
		t.Errorf("%d failures recorded while the batch lingers, want 3", n)
	}
	e.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := failures(); n != 4 {
		t.Errorf("%d failures recorded at shutdown, want 4", n)
	}
}

// TestAStormOfChangesIsBatched: three outages confirmed one after another
// are each decided at once; a fourth, well within the linger of the first,
// waits for the batch as a plain result does, and is decided at shutdown.
func TestAStormOfChangesIsBatched(t *testing.T) {
	ctx := context.Background()
	var cs []*config.Check
	var ids []string
	for i := range 4 {
		c := storefront(t, "http://127.0.0.1:1/")
		c.ID = fmt.Sprintf("shop%d/storefront", i)
		cs, ids = append(cs, c), append(ids, c.ID)
	}
	db := newStore(t, ids...)
	e, err := incident.New(ctx, incident.Options{Store: db, Router: router{}, Linger: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	for i, c := range cs {
		for n := range 3 {
			e.Observe(failed(c, n))
		}
		if i < 3 {
			eventually(t, "outage "+c.ID, func() bool { return e.OpenIncident(ctx, c.ID) != 0 })
			continue
		}
		time.Sleep(300 * time.Millisecond)
		if e.OpenIncident(ctx, c.ID) != 0 {
			t.Errorf("the fourth outage in a row was written at once")
		}
	}
	e.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if e.OpenIncident(ctx, cs[3].ID) == 0 {
		t.Error("the fourth outage was not written at shutdown")
	}
	if n := len(outbox(t, db)); n != 8 {
		t.Errorf("%d messages, want each outage's two", n)
	}
}
