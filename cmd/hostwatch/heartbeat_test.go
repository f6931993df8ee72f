package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/notifier/telegram/telegramtest"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

// pingURL is a ping URL as hostwatch check lists it.
var pingURL = regexp.MustCompile(`https?://\S+/ping/[A-Za-z0-9_-]{22,}`)

// pingAt asks url with body (POST when there is one) and returns the
// answer and when the request went and its answer came.
func pingAt(t *testing.T, url, body string) (code int, answer string, sent, done time.Time) {
	t.Helper()
	sent = time.Now()
	var resp *http.Response
	var err error
	if body == "" {
		resp, err = http.Get(url)
	} else {
		resp, err = http.Post(url, "text/plain", strings.NewReader(body))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), sent, time.Now()
}

// probeCounts are the lines of /metrics that count a check's results.
func probeCounts(t *testing.T, listen, check string) string {
	t.Helper()
	resp, err := http.Get("http://" + listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, `hostwatch_probes_total{check="`+check+`"`) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// sentAt is when the fake Bot API was asked to send the n-th message to
// chat (from 0).
func sentAt(t *testing.T, api *telegramtest.Server, chat int64, n int) time.Time {
	t.Helper()
	var at []time.Time
	for _, c := range api.Calls("sendMessage") {
		if c.Params.Get("chat_id") == strconv.FormatInt(chat, 10) && c.Status == http.StatusOK {
			at = append(at, c.At)
		}
	}
	if len(at) <= n {
		t.Fatalf("%d messages sent to %d, want a message %d", len(at), chat, n)
	}
	return at[n]
}

// TestHeartbeatThroughTelegram runs the binary with a heartbeat check due
// every 2 s with 1 s of grace, pinged every 500 ms: all is quiet while the
// pings come; when they stop, the owner's alert with its Acknowledge button
// arrives within the grace and a second of the ping being due; a ping
// resolves it; a failure the job reports opens a new one at once, with what
// the job sent in the record; a ping to an unknown token is 404 and
// changes nothing; /check shows the owner the URL, and a stranger nothing.
func TestHeartbeatThroughTelegram(t *testing.T) {
	const token = "424242:hostwatch-test"
	api := telegramtest.New(token)
	defer api.Close()
	dir := t.TempDir()
	listen := freeAddr(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
storage: {dsn: h.db}
http: {listen: %q}
defaults: {group_wait: 0s}
telegram:
  token: ${TG_TOKEN}
  api_endpoint: %q
contacts:
  - {name: kim, telegram: 111}
  - {name: ops, telegram: -100999}
admins: [ops]
merchants:
  - name: kim-shop
    contacts: [kim]
    checks:
      - {name: backup, heartbeat: {period: 2s, grace: 1s}}
`, listen, api.Endpoint()))
	t.Setenv("TG_TOKEN", token)
	p := startDaemon(t, dir, cfg)
	waitHTTP(t, "http://"+listen+"/healthz", `"status":"ok"`)

	out, _, code := hostwatch(t, "check", "-config", cfg, "kim-shop/backup")
	url := pingURL.FindString(out)
	if code != 0 || !strings.HasPrefix(url, "http://"+listen+"/ping/") || !strings.Contains(out, "kim-shop/backup  waiting") {
		t.Fatalf("hostwatch check: exit %d\n%s", code, out)
	}

	// The job pings every 500 ms: up, and nobody is told anything.
	var last, lastDone time.Time
	for range 7 {
		code, answer, sent, done := pingAt(t, url, "")
		if code != http.StatusOK || answer != "OK" {
			t.Fatalf("ping: %d %q", code, answer)
		}
		last, lastDone = sent, done
		time.Sleep(500 * time.Millisecond)
	}
	if n := len(api.Messages(111)); n != 0 {
		t.Fatalf("%d messages while the pings came: %+v", n, api.Messages(111))
	}

	// The API shows it as any check, its last ping as its last probe.
	var listed []struct {
		Check, Kind, State string
		LastProbe          time.Time `json:"last_probe"`
	}
	getJSON(t, "http://"+listen+"/api/v1/checks", &listed)
	if len(listed) != 1 || listed[0].Kind != "heartbeat" || listed[0].State != "up" ||
		listed[0].LastProbe.Before(last) || listed[0].LastProbe.After(lastDone) {
		t.Errorf("/api/v1/checks: %+v; last ping between %v and %v", listed, last, lastDone)
	}

	// A token nobody has is "not found", and changes nothing.
	counts := probeCounts(t, listen, "kim-shop/backup")
	for _, path := range []string{"/ping/unknown", "/ping/unknown/fail", strings.TrimPrefix(url, "http://"+listen) + "x"} {
		if code, answer, _, _ := pingAt(t, "http://"+listen+path, "the body"); code != http.StatusNotFound || answer != "not found\n" {
			t.Errorf("%s: %d %q", path, code, answer)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if got := probeCounts(t, listen, "kim-shop/backup"); got != counts || !strings.Contains(got, `result="ok"} 7`) {
		t.Errorf("an unknown token changed the counts:\n%s\nwas:\n%s", got, counts)
	}

	// The pings stop: due 2 s after the last, down 1 s later, told within
	// a second of that.
	eventually(t, "the alert", func() bool { return len(api.Messages(111)) == 1 })
	arrived := sentAt(t, api, 111, 0)
	if arrived.Before(last.Add(3*time.Second)) || arrived.After(lastDone.Add(2*time.Second+time.Second+time.Second)) {
		t.Errorf("the alert came %v after the last ping; due after 2s, down 1s later", arrived.Sub(last))
	}
	t.Logf("the alert was sent %v after the last ping (down at 3s)", arrived.Sub(last).Round(time.Millisecond))
	alert := api.Messages(111)[0]
	if !strings.Contains(alert.Text, "kim-shop/backup is down</b>") || !strings.Contains(alert.Text, "no ping since") ||
		!strings.Contains(alert.Markup, "Acknowledge") {
		t.Errorf("the alert: %+v", alert)
	}
	if n := len(api.Messages(-100999)); n != 0 {
		t.Errorf("the admins were told before the owner's policy said so: %+v", api.Messages(-100999))
	}

	// /check: the owner gets the URL, without a preview that would ping
	// it; a stranger gets nothing of it.
	api.Inject(telegramtest.Command(111, 7, "/check kim-shop/backup"))
	api.Inject(telegramtest.Command(333, 8, "/check kim-shop/backup"))
	eventually(t, "the answers", func() bool { return len(api.Messages(111)) == 2 && len(api.Messages(333)) == 1 })
	if got := api.Messages(111)[1]; !strings.Contains(got.Text, "Ping URL: "+url) || !strings.Contains(got.Text, "is down: no ping since") || !got.NoPreview {
		t.Errorf("the owner's /check: %+v", got)
	}
	if got := api.Messages(333)[0].Text; strings.Contains(got, "/ping/") || !strings.Contains(got, "not registered") {
		t.Errorf("a stranger's /check: %q", got)
	}

	// A ping: back, the alert edited and the downtime told.
	if code, _, _, _ := pingAt(t, url, "backup done"); code != http.StatusOK {
		t.Fatalf("ping: %d", code)
	}
	eventually(t, "the recovery", func() bool { return len(api.Messages(111)) == 3 })
	if got := api.Messages(111)[2].Text; !strings.Contains(got, "kim-shop/backup is back</b>") || !strings.Contains(got, ", down ") {
		t.Errorf("the recovery: %q", got)
	}
	eventually(t, "the alert's edit", func() bool { return api.Messages(111)[0].Markup == "" })
	// The job runs on, and the chat's pace (a message a second) lets the
	// next alert go at once.
	if code, _, _, _ := pingAt(t, url, ""); code != http.StatusOK {
		t.Fatalf("ping: %d", code)
	}
	time.Sleep(time.Second)

	// The job says it failed: down at once, a new alert.
	code, answer, failed, _ := pingAt(t, url+"/fail", "pg_dump: error: connection to server failed")
	if code != http.StatusOK || answer != "OK" {
		t.Fatalf("fail: %d %q", code, answer)
	}
	eventually(t, "the second alert", func() bool { return len(api.Messages(111)) == 4 })
	took := sentAt(t, api, 111, 3).Sub(failed)
	t.Logf("the failure was told %v after the job reported it", took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("the failure was told %v after the job reported it", took)
	}
	if got := api.Messages(111)[3]; !strings.Contains(got.Text, "the job reported a failure") || !strings.Contains(got.Markup, "Acknowledge") {
		t.Errorf("the second alert: %+v", got)
	}
	if code, _, _, _ := pingAt(t, url, ""); code != http.StatusOK {
		t.Fatalf("ping: %d", code)
	}
	eventually(t, "the second recovery", func() bool { return len(api.Messages(111)) == 5 })
	p.stop(t)

	// The record: the missed deadlines and the failure, with what the job
	// sent.
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fails, err := st.Failures(context.Background(), "kim-shop/backup", time.Now().Add(-time.Hour), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var missed, reported int
	for _, f := range fails {
		switch {
		case f.Kind == "heartbeat" && strings.HasPrefix(f.Error, "no ping since ") && strings.HasSuffix(f.Error, ", due every 2s with 1s grace"):
			missed++
		case f.Kind == "heartbeat" && f.Error == "the job reported a failure" && f.Evidence == "pg_dump: error: connection to server failed":
			reported++
		default:
			t.Errorf("a failure recorded: %+v", f)
		}
	}
	if missed == 0 || reported != 1 {
		t.Errorf("recorded %d missed deadlines and %d reported failures: %+v", missed, reported, fails)
	}
}

// TestHeartbeatURLStays: hostwatch check makes a heartbeat's URL before
// the daemon ever ran, and it is the same after a start, a reload and a
// restart; the restarted daemon holds the check to the last ping before
// the restart, not to its own start.
func TestHeartbeatURLStays(t *testing.T) {
	dir := t.TempDir()
	listen := freeAddr(t)
	config := func(more string) string {
		return writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
storage: {dsn: h.db}
http: {listen: %q, public_url: "https://hostwatch.example.com/"}
defaults: {group_wait: 0s}
merchants:
  - name: kim-shop
    checks:
      - {name: backup, heartbeat: {period: 10s, grace: 1s}}
%s`, listen, more))
	}
	cfg := config("")
	urlOf := func() string {
		t.Helper()
		out, _, _ := hostwatch(t, "check", "-config", cfg)
		url := pingURL.FindString(out)
		if !strings.HasPrefix(url, "https://hostwatch.example.com/ping/") {
			t.Fatalf("no ping URL:\n%s", out)
		}
		return url
	}
	url := urlOf()
	local := strings.Replace(url, "https://hostwatch.example.com", "http://"+listen, 1)

	p := startDaemon(t, dir, cfg)
	waitHTTP(t, "http://"+listen+"/healthz", `"status":"ok"`)
	if got := urlOf(); got != url {
		t.Errorf("the daemon made another URL: %s, was %s", got, url)
	}
	config("      - {name: sync, heartbeat: {period: 1h}}\n")
	if code, answer, _, _ := pingAt(t, "http://"+listen+"/-/reload", "x"); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, answer)
	}
	out, _, _ := hostwatch(t, "check", "-config", cfg)
	if !strings.Contains(out, url) || len(pingURL.FindAllString(out, -1)) != 2 {
		t.Errorf("after the reload:\n%s", out)
	}
	code, _, last, lastDone := pingAt(t, local, "")
	if code != http.StatusOK {
		t.Fatalf("ping after the reload: %d", code)
	}
	p.stop(t)

	p = startDaemon(t, dir, cfg)
	waitHTTP(t, "http://"+listen+"/healthz", `"status":"ok"`)
	if got := urlOf(); got != url {
		t.Errorf("after a restart the URL is %s, was %s", got, url)
	}
	down := p.waitLine(t, "DOWN kim-shop/backup")
	p.stop(t)
	if !strings.Contains(down, "no ping since "+last.UTC().Format("15:04:05")) && !strings.Contains(down, "no ping since "+lastDone.UTC().Format("15:04:05")) {
		t.Errorf("the alert after the restart: %s", down)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fails, err := st.Failures(context.Background(), "kim-shop/backup", last.Add(-time.Minute), time.Now())
	if err != nil || len(fails) == 0 {
		t.Fatalf("failures %v, %v", fails, err)
	}
	t.Logf("after a restart, missed %v after the last ping (period 10s, grace 1s)", fails[0].At.Sub(last).Round(time.Millisecond))
	// The record keeps milliseconds: the ping's time, cut to one, may
	// fall a fraction of one before the client's clock read when it sent.
	if at := fails[0].At; at.Before(last.Truncate(time.Millisecond).Add(11*time.Second)) || at.After(lastDone.Add(11*time.Second)) {
		t.Errorf("missed %v after the last ping, across a restart; want 11s", at.Sub(last))
	}
}
