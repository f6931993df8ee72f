package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/notifier/slack/slacktest"
	"github.com/hostwatch/hostwatch/notifier/webhook/webhooktest"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/postgres"
	"github.com/hostwatch/hostwatch/store/postgres/pgtest"
)

// hits is a target that counts the requests to each path, with their
// times: what the shops saw of the probes.
type hits struct {
	*httptest.Server
	mu   sync.Mutex
	at   map[string][]time.Time
	down map[string]bool // paths answering 502
}

func newHits(t *testing.T) *hits {
	h := &hits{at: map[string][]time.Time{}, down: map[string]bool{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.at[r.URL.Path] = append(h.at[r.URL.Path], time.Now())
		down := h.down[r.URL.Path] || h.down["*"]
		h.mu.Unlock()
		if down {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		w.Write([]byte("cart"))
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hits) setDown(path string, down bool) {
	h.mu.Lock()
	h.down[path] = down
	h.mu.Unlock()
}

func (h *hits) snapshot() map[string][]time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string][]time.Time, len(h.at))
	for p, ts := range h.at {
		out[p] = slices.Clone(ts)
	}
	return out
}

// shops writes the merchants section's entries: shop0 to shopN, each with
// per HTTP checks c0.. against target's /m/c, and contact when not empty.
func shops(b *strings.Builder, target string, merchants, per int, contact string) {
	for m := range merchants {
		fmt.Fprintf(b, "  - name: shop%d\n", m)
		if contact != "" {
			fmt.Fprintf(b, "    contacts: [%s]\n", contact)
		}
		b.WriteString("    checks:\n")
		for c := range per {
			fmt.Fprintf(b, "      - {name: c%d, http: {url: \"%s/%d/%d\", contains: cart}}\n", c, target, m, c)
		}
	}
}

// node is one instance of a cluster under test.
type node struct {
	*proc
	name, listen string
}

// metric reads one unlabelled metric of a node, -1 when it cannot.
func (n *node) metric(name string) float64 {
	resp, err := http.Get("http://" + n.listen + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` ([0-9.e+]+)$`).FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// health reads a node's /healthz.
func (n *node) health() (int, map[string]string) {
	resp, err := http.Get("http://" + n.listen + "/healthz")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var h map[string]string
	json.NewDecoder(resp.Body).Decode(&h)
	return resp.StatusCode, h
}

// startCluster runs n instances of the plain binary, web-1 to web-n, on
// one PostgreSQL database, each with the config body (which holds no
// storage, cluster or http section).
func startCluster(t *testing.T, n int, dsn, body string) []*node {
	t.Helper()
	bin, err := plainBinary()
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*node
	for i := 1; i <= n; i++ {
		dir := t.TempDir()
		nd := &node{name: fmt.Sprintf("web-%d", i), listen: freeAddr(t)}
		cfg := writeConfig(t, dir, fmt.Sprintf("storage: {driver: postgres, dsn: %q}\ncluster: {instance: %s}\nhttp: {listen: %q}\n%s",
			dsn, nd.name, nd.listen, body))
		nd.proc = startBinary(t, bin, dir, cfg)
		nodes = append(nodes, nd)
	}
	return nodes
}

// sharing waits until the nodes together probe want checks, each some.
func sharing(t *testing.T, nodes []*node, want int) {
	t.Helper()
	defer func() {
		if t.Failed() {
			for _, n := range nodes {
				_, stderr := n.output()
				t.Logf("%s assigned %v; log:\n%s", n.name, n.metric("hostwatch_checks_assigned"), stderr)
			}
		}
	}()
	eventually(t, "the checks shared out", func() bool {
		sum := 0.0
		for _, n := range nodes {
			v := n.metric("hostwatch_checks_assigned")
			if v <= 0 {
				return false
			}
			sum += v
		}
		return int(sum) == want
	})
}

// TestThreeInstancesShareTheChecks: three instances on one database share
// 3,000 HTTP checks every 5 s. The target counts each check's requests:
// from the first probe on, over more than a minute, no check is probed
// twice within one interval, and each is probed in (nearly) every run;
// the instances hold a third each, one of them takes the decisions, and
// /api/v1/cluster says so.
func TestThreeInstancesShareTheChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of three daemons")
	}
	dsn := pgtest.Database(t)
	target := newHits(t)
	const merchants, per = 300, 10
	var b strings.Builder
	b.WriteString("timezone: UTC\ndefaults: {schedule: \"@every 5s\", timeout: 2s}\nmerchants:\n")
	shops(&b, target.URL, merchants, per, "")
	nodes := startCluster(t, 3, dsn, b.String())
	sharing(t, nodes, merchants*per)
	time.Sleep(65 * time.Second)
	seen := target.snapshot()
	checkCluster(t, nodes, merchants*per)
	for _, nd := range nodes {
		nd.stop(t)
	}

	if len(seen) != merchants*per {
		t.Fatalf("%d checks probed, want %d", len(seen), merchants*per)
	}
	doubles, short := 0, 0
	for path, ts := range seen {
		for i := 1; i < len(ts); i++ {
			if gap := ts[i].Sub(ts[i-1]); gap < 4*time.Second {
				doubles++
				if doubles <= 5 {
					t.Errorf("%s probed twice within one interval: %v apart", path, gap)
				}
			}
		}
		// From its first probe to the end: about one probe per run.
		runs := int(ts[len(ts)-1].Sub(ts[0])/(5*time.Second)) + 1
		if len(ts) < runs-1 {
			short++
			if short <= 5 {
				t.Errorf("%s probed %d times in %d runs", path, len(ts), runs)
			}
		}
	}
	t.Logf("%d checks, %d probed twice within an interval, %d missed more than one run", len(seen), doubles, short)
}

// checkCluster asks every node's /api/v1/cluster and /healthz: the same
// live instances everywhere, holding want checks between them, a fair
// share each, one of them the leader.
func checkCluster(t *testing.T, nodes []*node, want int) {
	t.Helper()
	leaders := 0
	for _, nd := range nodes {
		code, h := nd.health()
		if code != http.StatusOK || h["instance"] != nd.name || (h["role"] != "leader" && h["role"] != "member") {
			t.Errorf("%s /healthz: %d %v", nd.name, code, h)
		}
		if h["role"] == "leader" {
			leaders++
		}
		resp, err := http.Get("http://" + nd.listen + "/api/v1/cluster")
		if err != nil {
			t.Fatal(err)
		}
		var members []struct {
			Instance, Role string
			Checks         int
		}
		err = json.NewDecoder(resp.Body).Decode(&members)
		resp.Body.Close()
		sum := 0
		for _, m := range members {
			sum += m.Checks
			if fair := want / len(nodes); m.Checks < fair*7/10 || m.Checks > fair*13/10 {
				t.Errorf("%s holds %d of %d checks", m.Instance, m.Checks, want)
			}
		}
		if err != nil || len(members) != len(nodes) || sum != want {
			t.Errorf("%s /api/v1/cluster: %+v, %v", nd.name, members, err)
		}
	}
	if leaders != 1 {
		t.Errorf("%d leaders, want 1", leaders)
	}
}

// TestKillTheBusiestInstance: three instances on one database; an outage of
// every shop sends forty alerts to one slow receiver, an escalation step
// falls due a few seconds later, and the instance holding the most checks
// is killed with SIGKILL in the middle of it. Its checks are probed again
// by the others within 15 s; every message is delivered, at most once
// more than once per destination (the one in flight at the kill); the
// escalation step goes out once per alert; and no outage opens a second
// incident.
func TestKillTheBusiestInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("a cluster through a kill")
	}
	dsn := pgtest.Database(t)
	target := newHits(t)
	receiver := webhooktest.New("kill-test-secret")
	defer receiver.Close()
	t.Setenv("HOOK_SECRET", "kill-test-secret")
	const merchants, per = 40, 3
	var b strings.Builder
	fmt.Fprintf(&b, `timezone: UTC
defaults: {schedule: "@every 1s", down_after: 1, up_after: 1, timeout: 2s, group_wait: 0s}
contacts:
  - {name: shops, webhook: "%[1]s/owner", webhook_secret: "${HOOK_SECRET}"}
  - {name: ops, webhook: "%[1]s/ops", webhook_secret: "${HOOK_SECRET}"}
admins: [ops]
policies:
  - name: default
    steps:
      - notify: [owner]
      - after: 15s
        notify: [ops]
merchants:
`, receiver.URL)
	shops(&b, target.URL, merchants, per, "shops")
	nodes := startCluster(t, 3, dsn, b.String())
	sharing(t, nodes, merchants*per)

	receiver.Slow(250 * time.Millisecond)
	target.setDown("*", true)
	wentDown := time.Now()
	eventually(t, "the first alerts", func() bool { return len(receiver.Deliveries()) >= 3 })
	time.Sleep(time.Until(wentDown.Add(6 * time.Second)))
	busiest := nodes[0]
	for _, nd := range nodes[1:] {
		if nd.metric("hostwatch_checks_assigned") > busiest.metric("hostwatch_checks_assigned") {
			busiest = nd
		}
	}
	_, h := busiest.health()
	pending := merchants - len(receiver.Deliveries())
	busiest.cmd.Process.Kill()
	<-busiest.done
	killed := time.Now()
	t.Logf("killed %s (%s) %v after the outage began, %d alerts not yet delivered", busiest.name, h["role"], killed.Sub(wentDown), pending)
	if pending <= 0 {
		t.Fatal("every alert was out before the kill; the test needs some pending")
	}
	var alive []*node
	for _, nd := range nodes {
		if nd != busiest {
			alive = append(alive, nd)
		}
	}

	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	defer func() {
		if t.Failed() {
			for _, n := range alive {
				_, stderr := n.output()
				t.Logf("%s log:\n%s", n.name, stderr)
			}
		}
	}()
	escalated := func() int {
		ins, _ := st.Incidents(context.Background(), store.IncidentFilter{})
		n := 0
		for _, in := range ins {
			evs, _ := st.Events(context.Background(), in.ID)
			for _, e := range evs {
				if e.Kind == "notified" && strings.Contains(e.Detail, "step 2 of run 1") {
					n++
				}
			}
		}
		return n
	}
	eventually(t, "the escalation of every alert", func() bool { return escalated() >= merchants*per })
	// Every check is probed again, within 15 s of the kill.
	for path, ts := range target.snapshot() {
		for i := 1; i < len(ts); i++ {
			if gap := ts[i].Sub(ts[i-1]); gap > 15*time.Second {
				t.Errorf("%s not probed for %v around the kill", path, gap)
			}
		}
		if last := ts[len(ts)-1]; last.Before(killed) {
			t.Errorf("%s not probed since the kill", path)
		}
	}
	receiver.Slow(0)
	target.setDown("*", false)
	eventually(t, "the recoveries told", func() bool {
		open, err1 := st.Incidents(context.Background(), store.IncidentFilter{OpenOnly: true})
		left, err2 := st.Pending(context.Background(), 0, 10)
		return err1 == nil && err2 == nil && len(open) == 0 && len(left) == 0
	})
	time.Sleep(time.Second) // nothing more comes
	for _, nd := range alive {
		nd.stop(t)
	}

	allDelivered(t, st, receiver, map[string]string{"/owner": "shops", "/ops": "ops"})
	ins, err := st.Incidents(context.Background(), store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	perCheck := map[string]int{}
	for _, in := range ins {
		perCheck[in.Check]++
		steps := 0
		evs, _ := st.Events(context.Background(), in.ID)
		for _, e := range evs {
			if e.Kind == "notified" && strings.Contains(e.Detail, "step 2 of run 1") {
				steps++
			}
		}
		if steps != 1 {
			t.Errorf("#%d %s: the escalation step taken %d times", in.ID, in.Check, steps)
		}
	}
	if len(perCheck) != merchants*per {
		t.Errorf("incidents of %d checks, want %d", len(perCheck), merchants*per)
	}
	for check, n := range perCheck {
		if n != 1 {
			t.Errorf("%s: %d incidents for one outage", check, n)
		}
	}
}

// allDelivered checks that every message the outbox holds for the webhooks
// was sent and reached the receiver, in order per destination, with at most
// one duplicate per destination: names maps the receiver's paths to the
// contacts' names.
func allDelivered(t *testing.T, st store.Store, receiver *webhooktest.Server, names map[string]string) {
	t.Helper()
	want := map[string][]string{}
	last := int64(0)
	for _, d := range receiver.Deliveries() {
		id, _ := strconv.ParseInt(d.Body.Delivery, 10, 64)
		last = max(last, id)
	}
	// IDs come from a sequence, which a crash of the database moves on:
	// those past the last delivered are looked for a while further.
	for id := int64(1); id <= last+100; id++ {
		it, err := st.Item(context.Background(), id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		name, ok := strings.CutPrefix(it.Destination, "webhook:")
		if !ok {
			continue // the console's
		}
		if it.State != store.Sent {
			t.Errorf("message %d to %s: %s", id, it.Destination, it.State)
		}
		want[name] = append(want[name], fmt.Sprint(id))
	}
	got := map[string][]string{}
	dups := map[string]int{}
	for _, d := range receiver.Deliveries() {
		name := names[d.Path]
		if d.Duplicate {
			dups[name]++
			continue
		}
		got[name] = append(got[name], d.Body.Delivery)
	}
	if len(want) == 0 {
		t.Error("no message to a webhook in the outbox")
	}
	for name, ids := range want {
		if strings.Join(got[name], " ") != strings.Join(ids, " ") {
			t.Errorf("%s received %v, in this order; the outbox holds %v", name, got[name], ids)
		}
		if dups[name] > 1 {
			t.Errorf("%s: %d duplicates, want at most one", name, dups[name])
		}
	}
}

// TestPostgresStoppedForThirtySeconds: two instances on a PostgreSQL server
// of the test's own, with an outage of five shops being told through a
// slow receiver, when the server stops at once (as if it crashed) and
// starts again 30 s later. Nothing panics; both answer 503 meanwhile and
// 200 after; the healthy shops have no failure and no incident on the
// record for the database's fault; each down check has one incident; and
// every message is delivered after.
func TestPostgresStoppedForThirtySeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("thirty seconds without a database")
	}
	pg := pgtest.NewPrivate(t)
	dsn := pg.URL()
	target := newHits(t)
	receiver := webhooktest.New("pg-test-secret")
	defer receiver.Close()
	t.Setenv("HOOK_SECRET", "pg-test-secret")
	const merchants, per = 10, 3
	var b strings.Builder
	fmt.Fprintf(&b, `timezone: UTC
defaults: {schedule: "@every 1s", down_after: 2, up_after: 1, timeout: 2s, group_wait: 0s}
contacts:
  - {name: shops, webhook: "%[1]s/shops", webhook_secret: "${HOOK_SECRET}"}
  - {name: ops, webhook: "%[1]s/ops", webhook_secret: "${HOOK_SECRET}"}
admins: [ops]
merchants:
`, receiver.URL)
	shops(&b, target.URL, merchants, per, "shops")
	nodes := startCluster(t, 2, dsn, b.String())
	sharing(t, nodes, merchants*per)

	receiver.Slow(300 * time.Millisecond)
	for m := range 5 {
		for c := range per {
			target.setDown(fmt.Sprintf("/%d/%d", m, c), true)
		}
	}
	eventually(t, "the first alerts", func() bool { return len(receiver.Deliveries()) >= 2 })
	pg.Stop()
	stopped := time.Now()
	for _, nd := range nodes {
		eventually(t, nd.name+"'s 503", func() bool { code, _ := nd.health(); return code == http.StatusServiceUnavailable })
		if took := time.Since(stopped); took > 12*time.Second {
			t.Errorf("%s answered 503 %v after the database stopped", nd.name, took)
		}
	}
	time.Sleep(time.Until(stopped.Add(30 * time.Second)))
	for _, nd := range nodes {
		select {
		case err := <-nd.done:
			_, stderr := nd.output()
			t.Fatalf("%s ended while the database was stopped: %v\n%s", nd.name, err, stderr)
		default:
		}
	}
	pg.Start()
	for _, nd := range nodes {
		eventually(t, nd.name+"'s 200", func() bool { code, _ := nd.health(); return code == http.StatusOK })
	}
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	defer func() {
		if t.Failed() {
			open, _ := st.Incidents(context.Background(), store.IncidentFilter{OpenOnly: true})
			left, _ := st.Pending(context.Background(), 0, 100)
			t.Logf("%d open incidents, %d pending messages", len(open), len(left))
			for _, nd := range nodes {
				_, stderr := nd.output()
				t.Logf("%s log:\n%s", nd.name, stderr)
			}
		}
	}()
	receiver.Slow(0)
	for m := range 5 {
		for c := range per {
			target.setDown(fmt.Sprintf("/%d/%d", m, c), false)
		}
	}
	eventually(t, "the recoveries told", func() bool {
		open, err1 := st.Incidents(context.Background(), store.IncidentFilter{OpenOnly: true})
		all, err2 := st.Incidents(context.Background(), store.IncidentFilter{})
		left, err3 := st.Pending(context.Background(), 0, 10)
		return err1 == nil && err2 == nil && err3 == nil && len(all) > 0 && len(open) == 0 && len(left) == 0
	})
	time.Sleep(time.Second)
	for _, nd := range nodes {
		nd.stop(t)
		if _, stderr := nd.output(); strings.Contains(stderr, "panic") {
			t.Errorf("%s panicked:\n%s", nd.name, stderr)
		}
	}
	ins, err := st.Incidents(context.Background(), store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	perCheck := map[string]int{}
	for _, in := range ins {
		perCheck[in.Check]++
	}
	for m := range merchants {
		for c := range per {
			check := fmt.Sprintf("shop%d/c%d", m, c)
			want := 0
			if m < 5 {
				want = 1
			}
			if perCheck[check] != want {
				t.Errorf("%s: %d incidents, want %d", check, perCheck[check], want)
			}
			if m >= 5 {
				if fs, err := st.Failures(context.Background(), check, time.Time{}, time.Now().Add(time.Hour)); err != nil || len(fs) != 0 {
					t.Errorf("%s, never down, has %d failures on the record (%v)", check, len(fs), err)
				}
			}
		}
	}
	allDelivered(t, st, receiver, map[string]string{"/shops": "shops", "/ops": "ops"})
}

// TestSlackRequestsOnEveryInstance: two instances answer Slack's requests
// on one database. A signed command taken by one is refused by both when
// it comes again: to the same instance, to the other, and with its
// signature's hex in another case; a forged one is refused by each.
func TestSlackRequestsOnEveryInstance(t *testing.T) {
	const token, secret = "xoxb-hostwatch-test", "signing-secret"
	api := slacktest.New(token)
	defer api.Close()
	t.Setenv("SLACK_TOKEN", token)
	t.Setenv("SLACK_SECRET", secret)
	target := newHits(t)
	nodes := startCluster(t, 2, pgtest.Database(t), fmt.Sprintf(`timezone: UTC
defaults: {schedule: "@every 1s"}
slack: {token: "${SLACK_TOKEN}", signing_secret: "${SLACK_SECRET}", api_url: %q}
contacts:
  - {name: kim, slack: U0KIM}
merchants:
  - name: kim-shop
    contacts: [kim]
    checks:
      - {name: storefront, http: {url: "%s/", contains: cart}}
`, api.APIURL(), target.URL))
	for _, nd := range nodes {
		waitHTTP(t, "http://"+nd.listen+"/healthz", `"status":"ok"`)
	}
	form := url.Values{"command": {"/hostwatch"}, "text": {"silence kim-shop 1h moving"}, "user_id": {"U0KIM"},
		"channel_id": {"D0DM"}, "response_url": {api.ResponseURL("silence")}}
	body := []byte(form.Encode())
	post := func(nd *node, h http.Header) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+nd.listen+"/slack/commands", bytes.NewReader(body))
		req.Header = h.Clone()
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	sign := func(secret string) http.Header {
		req, _ := http.NewRequest(http.MethodPost, "/", nil)
		slacktest.Sign(req, secret, body, time.Now())
		return req.Header
	}
	signed := sign(secret)
	tests := []struct {
		name string
		node int
		h    http.Header
		want int
	}{
		{"forged, to the first", 0, sign("not-the-secret"), http.StatusUnauthorized},
		{"forged, to the second", 1, sign("not-the-secret"), http.StatusUnauthorized},
		{"signed, to the first", 0, signed, http.StatusOK},
		{"the same, to the first", 0, signed, http.StatusUnauthorized},
		{"the same, to the second", 1, signed, http.StatusUnauthorized},
		{"one hex letter upper-cased, to the second", 1, slacktest.UpperHex(signed), http.StatusUnauthorized},
		{"one hex letter upper-cased, to the first", 0, slacktest.UpperHex(signed), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		if got := post(nodes[tt.node], tt.h); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	eventually(t, "the answer", func() bool { return len(api.Responses()) == 1 })
	time.Sleep(500 * time.Millisecond)
	if n := len(api.Responses()); n != 1 {
		t.Errorf("%d answers: a refused request was taken", n)
	}
	for _, nd := range nodes {
		nd.stop(t)
	}
}
