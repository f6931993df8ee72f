package incident_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/incident"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/source"
)

// unread is an intake kind for these tests' configurations; they hand
// the engine their signals themselves.
type unread struct{}

func (unread) Read([]byte, source.Route, time.Time) (source.Batch, error) { return source.Batch{}, nil }
func (unread) TokenInBody() bool                                          { return false }

func init() { source.Register("test", unread{}) }

const fromSources = escalation + `
sources:
  - {name: prom, kind: test, token: t, merchant: kim-shop}
`

// take hands the engine one request's signals.
func (w *world) take(sigs ...source.Signal) {
	w.t.Helper()
	if err := w.engine.Take(context.Background(), sigs); err != nil {
		w.t.Fatal(err)
	}
	w.sync()
}

func alertSignal(key string, action source.Action, at time.Time, labels map[string]string) source.Signal {
	s := source.Signal{Source: "prom", Key: key, Merchant: "kim-shop", Action: action, At: at,
		Title: "prom/" + labels["alertname"], Summary: labels["alertname"] + " fires", Labels: labels}
	if action != source.Down {
		s.Merchant = "" // as a resolve event says it: by its key only
	}
	return s
}

// TestSignalsOfASource: a source's two alerts are one message to the
// owner, naming each with its labels; fired again they change nothing;
// acknowledged by the source, the escalation stops; resolved, the alert
// says so, by its key alone.
func TestSignalsOfASource(t *testing.T) {
	w := newWorld(t, fromSources)
	errRate := map[string]string{"alertname": "HighErrorRate", "instance": "web-1"}
	latency := map[string]string{"alertname": "HighLatency", "instance": "web-1"}
	w.take(alertSignal("aaa111", source.Down, t0.Add(-time.Minute), errRate), alertSignal("bbb222", source.Down, t0, latency))
	w.expect("a firing group", "+0s send telegram:111 down 2/2")
	items := outbox(t, w.db)
	m := decode(t, items[len(items)-1])
	if got := m.Items[0]; got.Source != "prom" || got.Title != "prom/HighErrorRate" || got.Labels["instance"] != "web-1" || !got.Start.Equal(t0.Add(-time.Minute)) {
		t.Errorf("first item = %+v, want prom's HighErrorRate since a minute before", got)
	}
	text := notifier.PlainRenderer(time.UTC).Line(m)
	if !strings.Contains(text, "prom/HighErrorRate (instance=web-1)") {
		t.Errorf("message %q does not name the alert with its labels", text)
	}

	w.advance(time.Minute)
	w.take(alertSignal("aaa111", source.Down, t0.Add(-time.Minute), errRate))
	w.expect("the same alert firing again")
	if n := len(incidents(t, w.db)); n != 2 {
		t.Errorf("%d incidents, want 2", n)
	}

	w.take(alertSignal("aaa111", source.Ack, w.clock.Now(), nil))
	w.expect("acknowledged by the source", "+1m0s edit telegram:111 down 2/2")
	w.take(alertSignal("bbb222", source.Ack, w.clock.Now(), nil))
	w.expect("both acknowledged", "+1m0s edit telegram:111 down 2/2 ack:prom")
	w.advance(5 * time.Minute)
	w.expect("no escalation once acknowledged")

	w.take(alertSignal("bbb222", source.Up, w.clock.Now(), nil))
	w.expect("one resolved", "+6m0s edit telegram:111 down 1/2 ack:prom")
	w.take(alertSignal("bbb222", source.Up, w.clock.Now(), nil), alertSignal("zzz999", source.Up, w.clock.Now(), nil))
	w.expect("resolved again, and one never seen")
	w.take(alertSignal("aaa111", source.Up, w.clock.Now(), nil))
	w.expect("all resolved", "+6m0s edit telegram:111 resolved 0/2 ack:prom", "+6m0s send telegram:111 resolved 0/2 ack:prom")

	var open int
	for _, in := range incidents(t, w.db) {
		if in.Open() {
			open++
		}
	}
	if open != 0 {
		t.Errorf("%d incidents open, want none", open)
	}
	w.restart()
	w.expect("a restart closes none and sends nothing")
}

// TestSourceAlertsSurviveARestart: an alert that fires across a restart
// stays open (it is the source's, not a check removed from the file), and
// its resolve ends it.
func TestSourceAlertsSurviveARestart(t *testing.T) {
	w := newWorld(t, fromSources)
	w.take(alertSignal("k1", source.Down, t0, map[string]string{"alertname": "DiskFull"}))
	w.expect("fires", "+0s send telegram:111 down #1")
	w.restart()
	w.advance(time.Minute)
	w.take(alertSignal("k1", source.Up, t0.Add(time.Minute), nil))
	w.expect("resolved after the restart", "+1m0s edit telegram:111 resolved #1", "+1m0s send telegram:111 resolved #1")
	ins := incidents(t, w.db)
	if len(ins) != 1 || ins[0].Open() || ins[0].ResolvedBy != "recovery" || !ins[0].End.Equal(t0.Add(time.Minute)) {
		t.Errorf("incidents = %+v, want #1 resolved at +1m by recovery", ins)
	}
}

// TestProviderAcrossSources: three shops' probes and two alerts of a
// source labelled with the provider make one outage of five checks; the
// probes alone, three, are not enough for it.
func TestProviderAcrossSources(t *testing.T) {
	var y strings.Builder
	y.WriteString(`defaults: {group_wait: 0s}
admins: [ops]
providers:
  - name: examplehost
    match: {provider: examplehost}
    outage_when: {min_down: 5}
contacts:
  - {name: ops, telegram: 999}
  - {name: kim, telegram: 111}
sources:
  - {name: prom, kind: test, token: t, merchant: ops-team}
merchants:
  - {name: ops-team, contacts: [kim], checks: []}
`)
	var shops []string
	for i := range 3 {
		fmt.Fprintf(&y, "  - name: shop%d\n    checks:\n      - {name: web, tcp: {address: '127.0.0.1:1'}, labels: {provider: examplehost}}\n", i)
		shops = append(shops, fmt.Sprintf("shop%d/web", i))
	}
	w := newWorld(t, y.String())
	w.down(shops...)
	for _, s := range w.sent() {
		if strings.Contains(s, "provider") {
			t.Errorf("a provider outage of three checks down: %s", s)
		}
	}
	labels := func(name string) map[string]string {
		return map[string]string{"alertname": name, "provider": "examplehost"}
	}
	a, b := alertSignal("x1", source.Down, t0, labels("NodeDown")), alertSignal("x2", source.Down, t0, labels("DiskFull"))
	a.Merchant, b.Merchant = "ops-team", "ops-team"
	w.take(a, b)
	var outage *notifier.ProviderOutage
	for _, it := range outbox(t, w.db) {
		if m := decode(t, it); m.Kind == notifier.ProviderDown {
			if outage != nil {
				t.Error("two provider outages")
			}
			outage = m.Provider
		}
	}
	if outage == nil || outage.Down != 5 || outage.Of != 5 {
		t.Fatalf("provider outage = %+v, want examplehost with 5 of 5 down", outage)
	}
	rules := incident.RulesFrom(w.cfg)
	outages, err := rules.Outages(context.Background(), w.db)
	if err != nil || len(outages) != 1 || outages[0].Down != 5 || outages[0].Of != 5 {
		t.Errorf("Outages = %+v, %v; want examplehost 5 of 5, as the status page reads it", outages, err)
	}

	// The alerts resolve first: the outage ends, at worst 5 of 5.
	w.take(alertSignal("x1", source.Up, t0, nil), alertSignal("x2", source.Up, t0, nil))
	w.up(shops...)
	var end *notifier.ProviderOutage
	for _, it := range outbox(t, w.db) {
		if m := decode(t, it); m.Kind == notifier.ProviderUp {
			end = m.Provider
		}
	}
	if end == nil || end.Down != 5 || end.Of != 5 {
		t.Errorf("provider's recovery = %+v, want at worst 5 of 5", end)
	}
}

// TestAlertsKnownByKey: an alert resolved by hand is not opened again by
// the same firing sent again, only by a new one; a resolve that names
// another merchant (the label moved, the file changed) still ends the
// alert its key opened.
func TestAlertsKnownByKey(t *testing.T) {
	w := newWorld(t, fromSources)
	labels := map[string]string{"alertname": "DiskFull"}
	w.take(alertSignal("k1", source.Down, t0, labels))
	w.expect("fires", "+0s send telegram:111 down #1")
	if _, err := w.engine.Resolve(context.Background(), 1, "@kim"); err != nil {
		t.Fatal(err)
	}
	w.sent()
	w.advance(4 * time.Hour)
	w.take(alertSignal("k1", source.Down, t0, labels)) // Alertmanager's repeat: the same startsAt
	w.expect("the same firing again, after a resolve by hand")
	w.take(alertSignal("k1", source.Down, w.clock.Now().Add(-time.Minute), labels))
	w.expect("a new firing", "+4h0m0s send telegram:111 down #2")

	up := alertSignal("k1", source.Up, w.clock.Now(), nil)
	up.Merchant = "ops-team" // as a resolve routed by a changed label would say
	w.take(up)
	if ins := incidents(t, w.db); len(ins) != 2 || ins[0].Open() {
		t.Errorf("incidents = %+v, want #2 resolved by its key", ins)
	}
}

// TestSilenceASourceAlert: the Silence button on an alert of one source
// alert silences that alert.
func TestSilenceASourceAlert(t *testing.T) {
	w := newWorld(t, fromSources)
	w.take(alertSignal("k1", source.Down, t0, map[string]string{"alertname": "DiskFull"}))
	w.sent()
	sl, err := w.engine.SilenceAlert(context.Background(), w.alertOf(1), time.Hour, "@kim")
	if err != nil || sl.Target != "kim-shop/prom/k1" {
		t.Fatalf("silence = %+v, %v; want kim-shop/prom/k1 silenced", sl, err)
	}
	w.sync()
	w.expect("the alert says so", "+0s edit telegram:111 down #1 silenced:@kim until +1h0m0s")
}
