package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/notifier/telegram/telegramtest"
)

// count is how many requests path has had.
func (h *hits) count(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.at[path])
}

// TestReload: SIGHUP applies a file that adds a check, removes one and
// gives the merchant another contact, keeping the open incident, its
// acknowledgement and a silence; the new check is probed within its
// interval and its outage goes to the new contact. A broken file sent by
// POST /-/reload is refused with its errors, and the running configuration
// goes on.
func TestReload(t *testing.T) {
	const token = "424242:hostwatch-test"
	api := telegramtest.New(token)
	defer api.Close()
	site := newHits(t)
	hits := site
	dir := t.TempDir()
	listen := freeAddr(t)
	config := func(contact, checks string) string {
		return writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
storage: {dsn: h.db}
http: {listen: %q}
defaults: {schedule: "@every 1s", down_after: 2, up_after: 2, timeout: 2s, group_wait: 0s}
telegram:
  token: ${TG_TOKEN}
  api_endpoint: %q
contacts:
  - {name: kim, telegram: 111}
  - {name: lee, telegram: 222}
merchants:
  - name: kim-shop
    contacts: [%s]
    checks:
      - {name: storefront, http: {url: "%s/storefront", contains: cart}}
%s`, listen, api.Endpoint(), contact, site.URL, checks))
	}
	t.Setenv("TG_TOKEN", token)
	cfg := config("kim", fmt.Sprintf(`      - {name: old, http: {url: "%s/old", contains: cart}}`, site.URL))
	p := startDaemon(t, dir, cfg, "-log-format", "json")
	defer p.stop(t)

	hits.setDown("/storefront", true)
	eventually(t, "the alert to kim", func() bool { return len(api.Messages(111)) == 1 })
	api.Inject(telegramtest.Press(111, 7, api.Messages(111)[0].MessageID, "ack:g1"))
	eventually(t, "the acknowledgement", func() bool { return api.Messages(111)[0].Edits == 1 })
	api.Inject(telegramtest.Command(111, 7, "/silence kim-shop/storefront 2h moving the database"))
	eventually(t, "the silence", func() bool { return len(api.Messages(111)) == 2 })

	// Reload by SIGHUP: storefront stays, old goes, db comes, lee is the
	// contact now.
	config("lee", fmt.Sprintf(`      - {name: db, http: {url: "%s/db", contains: cart}}`, site.URL))
	p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, "the reload", func() bool {
		_, stderr := p.output()
		return strings.Contains(stderr, `"msg":"configuration reloaded"`)
	})
	reloaded := time.Now()
	eventually(t, "the new check probed", func() bool { return hits.count("/db") > 0 })
	if took := time.Since(reloaded); took > 1500*time.Millisecond {
		t.Errorf("the new check was first probed %v after the reload; its interval is 1s", took)
	}
	oldHits := hits.count("/old")
	time.Sleep(2 * time.Second)
	if n := hits.count("/old"); n > oldHits+1 {
		t.Errorf("the removed check was probed %d times after the reload", n-oldHits)
	}

	var incidents []struct {
		ID             int64   `json:"id"`
		Check          string  `json:"check"`
		End            *string `json:"end"`
		AcknowledgedBy string  `json:"acknowledged_by"`
	}
	getJSON(t, "http://"+listen+"/api/v1/incidents", &incidents)
	if len(incidents) != 1 || incidents[0].ID != 1 || incidents[0].End != nil || incidents[0].AcknowledgedBy != "@user7" {
		t.Errorf("incidents after the reload: %+v", incidents)
	}
	api.Inject(telegramtest.Command(222, 8, "/silences"))
	eventually(t, "lee's list of silences", func() bool { return len(api.Messages(222)) == 1 })
	if got := api.Messages(222)[0].Text; !strings.Contains(got, "#1 kim-shop/storefront until") || !strings.Contains(got, "moving the database") {
		t.Errorf("the silence after the reload: %q", got)
	}
	waitHTTP(t, "http://"+listen+"/metrics", "hostwatch_config_last_reload_successful 1")

	// The next outage goes to lee, not kim.
	hits.setDown("/storefront", false)
	hits.setDown("/web", true)
	config("lee", fmt.Sprintf(`      - {name: db, http: {url: "%s/db", contains: cart}}
      - {name: web, http: {url: "%s/web", contains: cart}}`, site.URL, site.URL))
	if out, stderr, code := hostwatch(t, "reload", "-config", cfg); code != 0 || out != "configuration reloaded\n" {
		t.Fatalf("hostwatch reload: exit %d: %s%s", code, out, stderr)
	}
	eventually(t, "the new outage's alert to lee", func() bool {
		for _, m := range api.Messages(222) {
			if strings.Contains(m.Text, "kim-shop/web is down") {
				return true
			}
		}
		return false
	})
	for _, m := range api.Messages(111) {
		if strings.Contains(m.Text, "kim-shop/web") {
			t.Errorf("kim, no longer the contact, was told: %q", m.Text)
		}
	}

	// web removed while down: its incident is closed as removed.
	config("lee", fmt.Sprintf(`      - {name: db, http: {url: "%s/db", contains: cart}}`, site.URL))
	if out, stderr, code := hostwatch(t, "reload", "-config", cfg); code != 0 {
		t.Fatalf("hostwatch reload: exit %d: %s%s", code, out, stderr)
	}
	var all []struct {
		Check      string  `json:"check"`
		End        *string `json:"end"`
		ResolvedBy string  `json:"resolved_by"`
	}
	getJSON(t, "http://"+listen+"/api/v1/incidents?state=all", &all)
	removed := false
	for _, in := range all {
		removed = removed || (in.Check == "kim-shop/web" && in.End != nil && in.ResolvedBy == "removed")
	}
	if !removed {
		t.Errorf("the removed check's incident: %+v", all)
	}

	// A broken file: refused with its errors, the running one goes on.
	config("lee", `      - name: db
        http: {url: "not a url"}
        schedul: "@every 1m"`)
	resp, err := http.Post("http://"+listen+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), cfg+":18: merchants[0].checks[1].http.url: must be an absolute http or https URL") ||
		!strings.Contains(string(body), cfg+":19: merchants[0].checks[1].schedul: unknown key") {
		t.Errorf("POST /-/reload of a broken file: %s\n%s", resp.Status, body)
	}
	waitHTTP(t, "http://"+listen+"/metrics", "hostwatch_config_last_reload_successful 0")
	before := hits.count("/db")
	time.Sleep(1500 * time.Millisecond)
	if hits.count("/db") == before {
		t.Error("the running configuration stopped after a refused reload")
	}
	if _, stderr, code := hostwatch(t, "reload", "-config", cfg); code != 1 || !strings.Contains(stderr, "must be an absolute http or https URL") {
		t.Errorf("hostwatch reload of a broken file: exit %d: %s", code, stderr)
	}
	// Only this machine, or the admin token, may reload.
	req, _ := http.NewRequest(http.MethodPost, "http://"+listen+"/-/reload", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a reload through a proxy: %v %v", resp, err)
	}

	// /metrics behind the admin token, without the series per check.
	b := strings.Replace(string(must(os.ReadFile(config("lee", `      - {name: db, http: {url: "`+site.URL+`/db", contains: cart}}`)))),
		"http: {listen: ", `http: {admin_token: "s3cret", metrics: {per_check: false, protect: true}, listen: `, 1)
	if err := os.WriteFile(cfg, []byte(b), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := hostwatch(t, "reload", "-config", cfg); code != 0 {
		t.Fatalf("reload: exit %d: %s%s", code, out, stderr)
	}
	resp, err = http.Get("http://" + listen + "/metrics")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %v %v", resp, err)
	}
	req, _ = http.NewRequest(http.MethodGet, "http://"+listen+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics with the token: %v %v", resp, err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), `check="`) || !strings.Contains(string(body), `hostwatch_probes_total{result="ok"}`) {
		t.Errorf("/metrics with per_check off:\n%s", body)
	}

	_, stderr := p.output()
	if strings.Contains(stderr, token) {
		t.Error("the bot token reached the log")
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("-log-format json wrote a line that is not JSON: %q", line)
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}
