package incident_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
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

// world is the incident engine on a fake clock, configured from YAML,
// routing to Telegram chats: its messages are read back from the outbox.
type world struct {
	t      *testing.T
	cfg    *config.Config
	path   string
	clock  *clockwork.FakeClock
	db     *sqlite.DB
	engine *incident.Engine
	stop   func()
	seen   int // outbox items already read
}

func newWorld(t *testing.T, yaml string) *world {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte("timezone: UTC\ntelegram: {token: t}\n"+yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, cfg: cfg, path: filepath.Join(t.TempDir(), "h.db"), clock: clockwork.NewFakeClockAt(t0)}
	w.start()
	t.Cleanup(func() { w.stop() })
	return w
}

// start runs the engine on the store, as a start of the daemon does.
func (w *world) start() {
	w.t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, w.path)
	if err != nil {
		w.t.Fatal(err)
	}
	var ids []string
	for _, c := range w.cfg.Checks() {
		ids = append(ids, c.ID)
	}
	if err := db.Register(ctx, ids); err != nil {
		w.t.Fatal(err)
	}
	var sources []string
	for _, s := range w.cfg.Sources {
		sources = append(sources, s.Name)
	}
	e, err := incident.New(ctx, incident.Options{Store: db, Clock: w.clock, Checks: ids, Sources: sources, Rules: incident.RulesFrom(w.cfg),
		Router: incident.NewRouter(w.cfg, []string{"telegram"}, []string{"telegram"})})
	if err != nil {
		w.t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.Run(runCtx); close(done) }()
	w.db, w.engine = db, e
	w.stop = func() {
		e.Close()
		<-done
		cancel()
		db.Close()
		w.stop = func() {}
	}
	w.sync()
}

func (w *world) restart() {
	w.stop()
	w.start()
}

func (w *world) sync() {
	w.t.Helper()
	if err := w.engine.Sync(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

// advance moves the clock and lets the engine take what fell due.
func (w *world) advance(d time.Duration) {
	w.t.Helper()
	w.clock.Advance(d)
	w.sync()
}

func (w *world) check(id string) *config.Check {
	for _, c := range w.cfg.Checks() {
		if c.ID == id {
			return c
		}
	}
	w.t.Fatalf("no check %s", id)
	return nil
}

// probe hands the engine a failed or successful probe of each check now,
// all queued before the engine takes the first, and decided together;
// change says the probe confirmed a change of state.
func (w *world) probe(ok, change bool, ids ...string) {
	now := w.clock.Now()
	var batch []monitor.Observation
	for _, id := range ids {
		o := monitor.Observation{Check: w.check(id), At: now, Result: checks.Result{OK: ok}}
		o.State = store.CheckState{Check: id, State: store.Up, Since: now, OKStreak: 1}
		if !ok {
			o.Result.Kind, o.Result.Error = "status", "status 502, want 2xx"
			o.State = store.CheckState{Check: id, State: store.Down, Since: now, FailStreak: 1}
		}
		if change {
			o.Change = &monitor.Change{From: store.Up, To: store.Down, Since: now}
			if ok {
				o.Change.From, o.Change.To = store.Down, store.Up
			}
		}
		batch = append(batch, o)
	}
	err := incident.InWriter(context.Background(), w.engine, func() {
		for _, o := range batch {
			w.engine.Observe(o)
		}
	})
	if err != nil {
		w.t.Fatal(err)
	}
	w.sync()
}

func (w *world) down(ids ...string) { w.probe(false, true, ids...) }
func (w *world) up(ids ...string)   { w.probe(true, true, ids...) }

// sent lists the messages written since the last call as
// "+5m0s send telegram:222 down #1", times from t0.
func (w *world) sent() []string {
	w.t.Helper()
	items := outbox(w.t, w.db)
	var out []string
	for _, it := range items[w.seen:] {
		m := decode(w.t, it)
		s := fmt.Sprintf("+%s %s %s %s", it.CreatedAt.Sub(t0), it.Op, it.Destination, m.Kind)
		switch {
		case m.Group():
			s += fmt.Sprintf(" %d/%d", m.StillDown(), len(m.Items))
		case m.Incident != 0:
			s += fmt.Sprintf(" #%d", m.Incident)
		}
		if m.AckBy != "" {
			s += " ack:" + m.AckBy
		}
		if m.Provider != nil && (m.Kind == notifier.Down || m.Kind == notifier.Resolved) {
			s += " provider:" + m.Provider.Name
		}
		if m.Silenced != nil {
			s += fmt.Sprintf(" silenced:%s until +%s", m.Silenced.By, m.Silenced.Until.Sub(t0))
		}
		out = append(out, s)
	}
	w.seen = len(items)
	return out
}

func (w *world) expect(what string, want ...string) {
	w.t.Helper()
	got := w.sent()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		w.t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

const escalation = `
defaults: {group_wait: 0s}
contacts:
  - {name: kim, telegram: 111}
  - {name: ops, telegram: 222}
admins: [ops]
policies:
  - name: default
    steps:
      - notify: [owner]
      - after: 5m
        notify: [ops]
    repeat: 2
    ack_timeout: 1h
merchants:
  - name: kim-shop
    contacts: [kim]
    checks:
      - {name: web, http: {url: "http://127.0.0.1:1/"}}
`

// TestEscalationSequence: owner at 0, ops at 5m, repeat 2: the runs start
// at 0, 10m and 20m, then stop.
func TestEscalationSequence(t *testing.T) {
	w := newWorld(t, escalation)
	w.down("kim-shop/web")
	w.expect("at once", "+0s send telegram:111 down #1")
	w.advance(4*time.Minute + 59*time.Second)
	w.expect("before 5m")
	for range 6 {
		w.advance(time.Second)
		w.advance(4*time.Minute + 59*time.Second)
	}
	w.expect("three runs",
		"+5m0s send telegram:222 down #1",
		"+10m0s send telegram:111 down #1",
		"+15m0s send telegram:222 down #1",
		"+20m0s send telegram:111 down #1",
		"+25m0s send telegram:222 down #1")
	w.advance(time.Hour)
	w.expect("after the last run")
	w.up("kim-shop/web")
	w.expect("recovery edits each alert and tells everyone once",
		"+1h34m59s edit telegram:111 resolved #1",
		"+1h34m59s edit telegram:111 resolved #1",
		"+1h34m59s edit telegram:111 resolved #1",
		"+1h34m59s send telegram:111 resolved #1",
		"+1h34m59s edit telegram:222 resolved #1",
		"+1h34m59s edit telegram:222 resolved #1",
		"+1h34m59s edit telegram:222 resolved #1",
		"+1h34m59s send telegram:222 resolved #1")
	events, err := w.db.Events(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, e := range events {
		if e.Kind == "notified" {
			steps = append(steps, fmt.Sprintf("+%s %s", e.At.Sub(t0), e.Detail))
		}
	}
	if len(steps) != 6 || steps[1] != "+5m0s step 2 of run 1 (ops): telegram:222" {
		t.Errorf("timeline of the steps:\n%s", strings.Join(steps, "\n"))
	}
}

// TestAcknowledgementStopsEscalation: acknowledged at 3m, ops never hears;
// still down an hour after the acknowledgement, it escalates again.
func TestAcknowledgementStopsEscalation(t *testing.T) {
	w := newWorld(t, escalation)
	ctx := context.Background()
	w.down("kim-shop/web")
	w.advance(3 * time.Minute)
	if _, err := w.engine.Acknowledge(ctx, 1, "@kim"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.engine.Acknowledge(ctx, 1, "@kim"); err == nil {
		t.Error("a second acknowledgement was taken")
	}
	w.expect("acknowledged",
		"+0s send telegram:111 down #1",
		"+3m0s edit telegram:111 down #1 ack:@kim")
	w.advance(2 * time.Minute)
	w.advance(57*time.Minute + 59*time.Second)
	w.expect("ops never hears within the hour")
	w.advance(time.Second)
	w.expect("the acknowledgement timed out: the owner first",
		"+1h3m0s send telegram:111 down #1",
		"+1h3m0s edit telegram:111 down #1")
	w.advance(5 * time.Minute)
	w.expect("then ops", "+1h8m0s send telegram:222 down #1")
	in, err := w.db.Incident(ctx, 1)
	if err != nil || in.AckBy != "" {
		t.Errorf("after the timeout the incident is still acknowledged: %+v, %v", in, err)
	}
	// Acknowledged again, by the button on the alert: it stops again.
	if _, err := w.engine.AcknowledgeAlert(ctx, w.alertOf(1), "@ops"); err != nil {
		t.Fatal(err)
	}
	w.advance(20 * time.Minute)
	got := w.sent()
	for _, s := range got {
		if strings.Contains(s, " send ") {
			t.Errorf("escalated after the second acknowledgement: %s", s)
		}
	}
}

func (w *world) alertOf(n int64) int64 {
	in, err := w.db.Incident(context.Background(), n)
	if err != nil {
		w.t.Fatal(err)
	}
	return in.Alert
}

// TestRestartDuringEscalation: the next step comes at its time after a
// restart, no step is taken twice, and steps that fell due while the
// daemon was stopped are taken once at start.
func TestRestartDuringEscalation(t *testing.T) {
	w := newWorld(t, escalation)
	w.down("kim-shop/web")
	w.advance(5 * time.Minute)
	w.advance(time.Minute)
	w.expect("before the restart",
		"+0s send telegram:111 down #1",
		"+5m0s send telegram:222 down #1")
	w.restart()
	w.advance(3*time.Minute + 59*time.Second)
	w.expect("no step repeated after the restart")
	w.advance(time.Second)
	w.expect("the next step at its time", "+10m0s send telegram:111 down #1")

	// Stopped from 11m to 21m: ops at 15m and the owner at 20m fell due.
	w.advance(time.Minute)
	w.stop()
	w.clock.Advance(10 * time.Minute)
	w.start()
	w.expect("missed steps once each, at start",
		"+21m0s send telegram:222 down #1",
		"+21m0s send telegram:111 down #1")
	w.advance(4 * time.Minute)
	w.expect("and the last one at its time", "+25m0s send telegram:222 down #1")
	w.advance(time.Hour)
	w.expect("nothing after the last run")
}

const shops = `
defaults: {group_wait: 10s}
contacts:
  - {name: kim, telegram: 111}
  - {name: ops, telegram: 222}
admins: [ops]
policies:
  - name: default
    steps:
      - notify: [owner]
      - after: 5m
        notify: [admins]
merchants:
  - name: kim-shop
    contacts: [kim]
    checks:
      - {name: web, http: {url: "http://127.0.0.1:1/"}}
      - {name: api, http: {url: "http://127.0.0.1:1/api"}}
      - {name: db, tcp: {address: "127.0.0.1:1"}}
      - {name: dns, tcp: {address: "127.0.0.1:2"}}
      - {name: mail, tcp: {address: "127.0.0.1:3"}}
      - {name: cdn, tcp: {address: "127.0.0.1:4"}}
`

// TestOneMessagePerMerchant: five checks of one merchant down within
// group_wait make one message; a later change edits it.
func TestOneMessagePerMerchant(t *testing.T) {
	w := newWorld(t, shops)
	w.down("kim-shop/web", "kim-shop/api")
	w.advance(3 * time.Second)
	w.down("kim-shop/db", "kim-shop/dns")
	w.advance(6 * time.Second)
	w.down("kim-shop/mail")
	w.expect("nothing during group_wait")
	w.advance(time.Second)
	w.expect("one message for five checks", "+10s send telegram:111 down 5/5")
	m := decode(t, outbox(t, w.db)[0])
	if m.Of != 6 || !strings.Contains(notifier.PlainRenderer(time.UTC).Line(m), "5 of kim-shop's 6 checks are down") {
		t.Errorf("message: %s", notifier.PlainRenderer(time.UTC).Line(m))
	}
	w.advance(time.Minute)
	w.up("kim-shop/web")
	w.expect("a recovery edits it", "+1m10s edit telegram:111 down 4/5")
	ctx := context.Background()
	if _, err := w.engine.Acknowledge(ctx, 2, "@kim"); err != nil {
		t.Fatal(err)
	}
	w.advance(4 * time.Minute)
	w.expect("one acknowledged alone: the rest still escalate",
		"+1m10s edit telegram:111 down 4/5",
		"+5m10s send telegram:222 down 4/5")
	if _, err := w.engine.AcknowledgeAlert(ctx, w.alertOf(1), "@ops"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{3, 4, 5} {
		if in, _ := w.db.Incident(ctx, n); in.AckBy != "@ops" {
			t.Errorf("#%d acknowledged by %q, want @ops through the alert", n, in.AckBy)
		}
	}
	w.sent()
	w.up("kim-shop/api", "kim-shop/db", "kim-shop/dns", "kim-shop/mail")
	got := w.sent()
	if len(got) != 4 || !strings.Contains(got[1], "send telegram:111 resolved 0/5") {
		t.Errorf("all back: one summary each:\n%s", strings.Join(got, "\n"))
	}
}

// TestProviderOutage: forty checks of twenty merchants on one provider go
// down together: each owner hears once, naming the provider, and the
// admins once, about the provider.
func TestProviderOutage(t *testing.T) {
	var y strings.Builder
	y.WriteString(`defaults: {group_wait: 10s}
policies:
  - name: default
    steps:
      - notify: [owner]
      - after: 5m
        notify: [admins]
admins: [ops]
providers:
  - name: examplehost
    match: {provider: examplehost}
    outage_when: {down_ratio: 0.5, min_down: 3}
contacts:
  - {name: ops, telegram: 999}
`)
	for i := range 20 {
		fmt.Fprintf(&y, "  - {name: owner%d, telegram: %d}\n", i, 1000+i)
	}
	y.WriteString("merchants:\n")
	var all []string
	for i := range 20 {
		fmt.Fprintf(&y, "  - name: shop%d\n    contacts: [owner%d]\n    checks:\n", i, i)
		for _, c := range []string{"web", "db"} {
			fmt.Fprintf(&y, "      - {name: %s, tcp: {address: '127.0.0.1:1'}, labels: {provider: examplehost}}\n", c)
			all = append(all, fmt.Sprintf("shop%d/%s", i, c))
		}
	}
	w := newWorld(t, y.String())
	w.down(all...)
	w.advance(10 * time.Second)
	got := w.sent()
	owners, admins := 0, 0
	for _, s := range got {
		switch {
		case strings.Contains(s, "send telegram:999 provider_down"):
			admins++
		case strings.Contains(s, " send telegram:1") && strings.HasSuffix(s, "down 2/2 provider:examplehost"):
			owners++
		default:
			t.Errorf("unexpected: %s", s)
		}
	}
	if owners != 20 || admins != 1 {
		t.Errorf("%d owner messages naming the provider and %d admin messages, want 20 and 1:\n%s", owners, admins, strings.Join(got, "\n"))
	}
	var line string
	for _, it := range outbox(t, w.db) {
		if m := decode(t, it); m.Kind == notifier.ProviderDown {
			line = notifier.PlainRenderer(time.UTC).Line(m)
		}
	}
	if !strings.Contains(line, "examplehost looks down: 40 of 40 checks unreachable since 14:02") {
		t.Errorf("admin message: %s", line)
	}
	w.advance(5 * time.Minute)
	w.expect("no escalation to the admins shop by shop")
	w.up(all...)
	owners, admins = 0, 0
	for _, s := range w.sent() {
		switch {
		case strings.Contains(s, "send telegram:999 provider_up"):
			admins++
		case strings.Contains(s, "send telegram:1") && strings.Contains(s, "resolved 0/2"):
			owners++
		case strings.Contains(s, " edit "):
		default:
			t.Errorf("unexpected: %s", s)
		}
	}
	if owners != 20 || admins != 1 {
		t.Errorf("recovery: %d owner summaries and %d admin summaries, want 20 and 1", owners, admins)
	}
}

const holds = `
defaults:
  group_wait: 0s
  flapping: {changes: 4, window: 30m}
contacts:
  - {name: kim, telegram: 111}
  - {name: lee, telegram: 333}
merchants:
  - name: kim-shop
    contacts: [kim]
    checks:
      - {name: web, http: {url: "http://127.0.0.1:1/"}}
      - {name: db, tcp: {address: "127.0.0.1:1"}}
  - name: lee-shop
    contacts: [lee]
    checks:
      - {name: web, http: {url: "http://127.0.0.1:2/"}}
maintenance:
  - name: nightly
    schedule: "0 0 15 * * *"
    duration: 1h
    targets: [lee-shop]
`

// TestSilenceHoldsMessagesNotProbes: a silenced check is recorded as
// usual; its alert goes out when the silence ends while it is still down.
func TestSilenceHoldsMessagesNotProbes(t *testing.T) {
	w := newWorld(t, holds)
	ctx := context.Background()
	s, err := w.engine.Silence(ctx, "kim-shop/db", time.Hour, "moving the database", "@kim")
	if err != nil || s.ID == 0 {
		t.Fatalf("silence: %+v, %v", s, err)
	}
	if _, err := w.engine.Silence(ctx, "nobody/db", time.Hour, "", "@kim"); err == nil {
		t.Error("a silence of an unknown check was taken")
	}
	w.down("kim-shop/db")
	for range 10 {
		w.advance(time.Minute)
		w.probe(false, false, "kim-shop/db")
	}
	w.expect("held while silenced")
	fails, err := w.db.Failures(ctx, "kim-shop/db", t0, t0.Add(time.Hour))
	if err != nil || len(fails) != 11 {
		t.Errorf("%d failed probes recorded while silenced, want 11 (%v)", len(fails), err)
	}
	if got, err := w.engine.Silences(ctx); err != nil || len(got) != 1 || got[0].Reason != "moving the database" {
		t.Errorf("silences: %+v", got)
	}
	w.advance(50*time.Minute - time.Second)
	w.expect("still held")
	w.advance(time.Second)
	w.expect("the alert goes out when the silence ends", "+1h0m0s send telegram:111 down #1")

	// Lifted early: what it held goes out at once.
	s, err = w.engine.Silence(ctx, "kim-shop", time.Hour, "", "@kim")
	if err != nil {
		t.Fatal(err)
	}
	w.expect("the alert says who silenced it, and until when", "+1h0m0s edit telegram:111 down #1 silenced:@kim until +2h0m0s")
	w.down("kim-shop/web")
	w.expect("held by the merchant's silence")
	if _, err := w.engine.Unsilence(ctx, s.ID, "@kim"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.engine.Unsilence(ctx, s.ID, "@kim"); err == nil {
		t.Error("a silence was lifted twice")
	}
	w.expect("told when lifted", "+1h0m0s edit telegram:111 down 2/2", "+1h0m0s send telegram:111 down 2/2")
}

// TestMaintenanceWindow: an outage during the window is recorded and
// marked, and told only if it outlasts the window.
func TestMaintenanceWindow(t *testing.T) {
	w := newWorld(t, holds) // t0 is 14:02 UTC; the window is 15:00–16:00
	ctx := context.Background()
	w.advance(50 * time.Minute)
	w.down("lee-shop/web")
	w.expect("before the window", "+50m0s send telegram:333 down #1")
	w.up("lee-shop/web")
	w.sent()
	w.advance(10 * time.Minute) // 15:02
	w.down("lee-shop/web")
	w.advance(30 * time.Minute)
	w.up("lee-shop/web")
	w.advance(10 * time.Minute)
	w.down("lee-shop/web")
	w.expect("nothing during the window")
	w.advance(17*time.Minute + 59*time.Second)
	w.expect("nothing until it ends")
	w.advance(time.Second) // 16:00
	w.expect("still down when it ends: told", "+1h58m0s send telegram:333 down #3")
	events, _ := w.db.Events(ctx, 2)
	marked := false
	for _, e := range events {
		marked = marked || (e.Kind == "maintenance" && strings.Contains(e.Detail, "nightly"))
	}
	if !marked {
		t.Errorf("the incident in the window is not marked: %+v", events)
	}
	ws, err := w.db.Windows(ctx, t0, t0.Add(3*time.Hour))
	if err != nil || len(ws) != 1 || ws[0].Start.Hour() != 15 || ws[0].End.Hour() != 16 {
		t.Errorf("windows recorded: %+v, %v", ws, err)
	}
}

// TestFlapping: a check that keeps changing produces one flapping message
// instead of a stream, and one when it is steady again.
func TestFlapping(t *testing.T) {
	w := newWorld(t, holds)
	for range 10 {
		w.down("kim-shop/web")
		w.advance(time.Minute)
		w.up("kim-shop/web")
		w.advance(time.Minute)
	}
	var kinds []string
	for _, s := range w.sent() {
		if strings.Contains(s, " send ") {
			kinds = append(kinds, strings.Fields(s)[3])
		}
	}
	want := "down resolved down resolved flapping"
	if strings.Join(kinds, " ") != want {
		t.Errorf("messages sent: %s\nwant: %s", strings.Join(kinds, " "), want)
	}
	// Still flapping across a restart: no alert for the next outage.
	w.restart()
	w.down("kim-shop/web")
	w.advance(time.Minute)
	w.up("kim-shop/web")
	w.expect("held after the restart")
	w.advance(29 * time.Minute)
	w.expect("not steady a minute early")
	w.advance(time.Minute)
	got := w.sent()
	if len(got) != 1 || !strings.Contains(got[0], "send telegram:111 steady") {
		t.Errorf("after a steady window: %v", got)
	}
	w.down("kim-shop/web")
	w.expect("alerts again once steady", "+51m0s send telegram:111 down #12")
}

// TestSilencePausesEscalation: a silence set after the alert went out
// holds its escalation too; when it ends with the check still down, the
// steps that fell due meanwhile go out once.
func TestSilencePausesEscalation(t *testing.T) {
	w := newWorld(t, escalation+"      - {name: db, tcp: {address: \"127.0.0.1:1\"}}\n")
	ctx := context.Background()
	w.down("kim-shop/web")
	w.advance(2 * time.Minute)
	if _, err := w.engine.Silence(ctx, "kim-shop", time.Hour, "", "@kim"); err != nil {
		t.Fatal(err)
	}
	for range 11 {
		w.advance(5 * time.Minute)
	}
	w.expect("nothing but the first alert, and its edit, while silenced",
		"+0s send telegram:111 down #1",
		"+2m0s edit telegram:111 down #1 silenced:@kim until +1h2m0s")
	w.advance(4 * time.Minute)
	w.expect("still silenced at 1h01m")
	w.advance(time.Minute) // 1h02m: the silence is over
	w.expect("the steps that fell due, once each",
		"+1h2m0s send telegram:222 down #1",
		"+1h2m0s send telegram:111 down #1",
		"+1h2m0s edit telegram:111 down #1")
}

// TestRecoveredWithAHeldCheckStaysQuiet: once the checks an alert told of
// are back, a check of it still held (silenced) makes no escalation.
func TestRecoveredWithAHeldCheckStaysQuiet(t *testing.T) {
	w := newWorld(t, escalation+"      - {name: db, tcp: {address: \"127.0.0.1:1\"}}\n")
	ctx := context.Background()
	w.down("kim-shop/web")
	if _, err := w.engine.Silence(ctx, "kim-shop/db", 3*time.Hour, "", "@kim"); err != nil {
		t.Fatal(err)
	}
	w.advance(time.Minute)
	w.down("kim-shop/db")
	w.advance(time.Minute)
	w.up("kim-shop/web")
	w.sent()
	for range 24 {
		w.advance(5 * time.Minute)
	}
	w.expect("nothing while only the silenced check is down")
}

// TestNewCheckRestartsAnAcknowledgedEscalation: a check nobody has
// acknowledged joins an acknowledged alert: the escalation starts over
// from then, step by step, not with every step long past at once.
func TestNewCheckRestartsAnAcknowledgedEscalation(t *testing.T) {
	w := newWorld(t, escalation+"      - {name: db, tcp: {address: \"127.0.0.1:1\"}}\n")
	w.down("kim-shop/web")
	w.advance(time.Minute)
	if _, err := w.engine.Acknowledge(context.Background(), 1, "@kim"); err != nil {
		t.Fatal(err)
	}
	w.advance(39 * time.Minute)
	w.sent()
	w.down("kim-shop/db")
	w.expect("the owner first",
		"+40m0s send telegram:111 down 2/2",
		"+40m0s edit telegram:111 down 2/2")
	w.advance(5 * time.Minute)
	w.expect("then ops, five minutes later", "+45m0s send telegram:222 down 2/2")
}
