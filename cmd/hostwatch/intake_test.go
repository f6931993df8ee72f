package main

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/notifier/telegram/telegramtest"
)

// intakeDaemon runs the binary with the strict Telegram fake, kim-shop's
// owner kim (chat 111) and the ops team (the admins' group -100999, also
// ops-team's contact), an escalation to the admins 3 s after the owner,
// and the sources and checks of body. It returns the daemon's address.
func intakeDaemon(t *testing.T, api *telegramtest.Server, body string) (*proc, string) {
	t.Helper()
	const token = "424242:hostwatch-test"
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
storage: {dsn: %q}
http: {listen: %q}
defaults: {schedule: "@every 1s", down_after: 1, up_after: 1, timeout: 2s, group_wait: 0s}
telegram:
  token: ${TG_TOKEN}
  api_endpoint: %q
contacts:
  - {name: kim, telegram: 111}
  - {name: ops, telegram: -100999}
admins: [ops]
policies:
  - name: default
    steps:
      - notify: [owner]
      - after: 3s
        notify: [admins]
`, filepath.Join(dir, "h.db"), addr, api.Endpoint())+body)
	t.Setenv("TG_TOKEN", token)
	t.Setenv("PROM_INTAKE_TOKEN", "prom-secret")
	p := startDaemon(t, dir, cfg)
	base := "http://" + addr
	eventually(t, "the daemon to listen", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return p, base
}

// post sends body to the intake and returns the status and answer.
func post(t *testing.T, url, bearer, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return do(t, req)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// quiet checks that nothing more reaches chat within a while.
func quiet(t *testing.T, api *telegramtest.Server, chat int64, want int, what string) {
	t.Helper()
	time.Sleep(700 * time.Millisecond)
	if got := len(api.Messages(chat)); got != want {
		t.Errorf("%s: %d messages to %d, want %d: %+v", what, got, chat, want, api.Messages(chat))
	}
}

var ackData = regexp.MustCompile(`"callback_data":"(ack:[^"]+)"`)

// amGroup is Alertmanager's webhook payload (version 4) for a group of
// alerts, as its documentation gives it.
func amGroup(status string, alerts ...string) string {
	return fmt.Sprintf(`{
  "version": "4",
  "groupKey": "{}:{merchant=\"kim-shop\"}",
  "truncatedAlerts": 0,
  "status": %q,
  "receiver": "hostwatch",
  "groupLabels": {"merchant": "kim-shop"},
  "commonLabels": {"merchant": "kim-shop", "severity": "critical"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager.example:9093",
  "alerts": [%s]
}`, status, strings.Join(alerts, ","))
}

func amAlert(status, name, instance, fingerprint, ends string) string {
	return fmt.Sprintf(`{
    "status": %q,
    "labels": {"alertname": %q, "instance": %q, "merchant": "kim-shop", "severity": "critical"},
    "annotations": {"summary": "%s on %s"},
    "startsAt": "2026-12-03T06:00:00Z",
    "endsAt": %q,
    "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up",
    "fingerprint": %q
  }`, status, name, instance, name, instance, ends, fingerprint)
}

// TestAlertmanagerThroughTheBinary: a firing group of two alerts for
// kim-shop is one message to its owner with Acknowledge; pressing it stops
// the escalation; the same group again changes nothing; one resolved
// edits the alert; a wrong token is 401 and changes nothing.
func TestAlertmanagerThroughTheBinary(t *testing.T) {
	const token = "424242:hostwatch-test"
	api := telegramtest.New(token)
	defer api.Close()
	p, base := intakeDaemon(t, api, `
sources:
  - {name: prom, kind: alertmanager, token: "${PROM_INTAKE_TOKEN}", merchant_label: merchant, merchant: ops-team}
merchants:
  - {name: kim-shop, contacts: [kim], checks: []}
  - {name: ops-team, contacts: [ops], checks: []}
`)
	url := base + "/intake/alertmanager/prom"
	firing := amGroup("firing", amAlert("firing", "HighErrorRate", "web-1", "1a2b3c4d5e6f7a8b", "0001-01-01T00:00:00Z"),
		amAlert("firing", "HighLatency", "web-1", "8b7a6f5e4d3c2b1a", "0001-01-01T00:00:00Z"))

	for _, bearer := range []string{"", "wrong-secret"} {
		if code, body := post(t, url, bearer, firing); code != http.StatusUnauthorized {
			t.Errorf("bearer %q: %d %s, want 401", bearer, code, body)
		}
	}
	quiet(t, api, 111, 0, "after refused requests")
	if _, body := get(t, base+"/api/v1/incidents"); body != "[]\n" {
		t.Errorf("incidents after refused requests: %s", body)
	}

	if code, body := post(t, url, "prom-secret", firing); code != http.StatusAccepted {
		t.Fatalf("firing: %d %s, want 202", code, body)
	}
	eventually(t, "the alert", func() bool { return len(api.Messages(111)) == 1 })
	alert := api.Messages(111)[0]
	for _, want := range []string{"prom/HighErrorRate", "prom/HighLatency", "instance=web-1", "Acknowledge"} {
		if !strings.Contains(alert.Text+alert.Markup, want) {
			t.Errorf("the alert lacks %q: %+v", want, alert)
		}
	}
	if code, _ := post(t, url, "prom-secret", firing); code != http.StatusAccepted {
		t.Errorf("firing again: %d", code)
	}
	quiet(t, api, 111, 1, "the same group again")
	if got := api.Messages(111)[0].Edits; got != 0 {
		t.Errorf("the same group again edited the alert %d times", got)
	}

	m := ackData.FindStringSubmatch(alert.Markup)
	if m == nil {
		t.Fatalf("no Acknowledge button in %s", alert.Markup)
	}
	api.Inject(telegramtest.Press(111, 7, alert.MessageID, m[1]))
	eventually(t, "the acknowledgement", func() bool { return strings.Contains(api.Messages(111)[0].Text, "Acknowledged by @user7") })
	time.Sleep(3500 * time.Millisecond) // past the admins' step
	if n := len(api.Messages(-100999)); n != 0 {
		t.Errorf("escalated to the admins after the acknowledgement: %+v", api.Messages(-100999))
	}

	resolved := amGroup("firing", amAlert("resolved", "HighErrorRate", "web-1", "1a2b3c4d5e6f7a8b", "2026-12-03T06:30:00Z"),
		amAlert("firing", "HighLatency", "web-1", "8b7a6f5e4d3c2b1a", "0001-01-01T00:00:00Z"))
	if code, body := post(t, url, "prom-secret", resolved); code != http.StatusAccepted {
		t.Fatalf("resolved: %d %s", code, body)
	}
	eventually(t, "the edit", func() bool { return strings.Contains(api.Messages(111)[0].Text, "back") })
	quiet(t, api, 111, 1, "one of two resolved")
	_, incidents := get(t, base+"/api/v1/incidents")
	if strings.Count(incidents, `"source": "prom"`) != 2 || strings.Count(incidents, `"end": null`) != 1 {
		t.Errorf("incidents: %s", incidents)
	}
	p.stop(t)
}

// TestProviderAcrossSourcesThroughTheBinary: three shops' probes and two
// Alertmanager alerts labelled with the provider make one outage of five
// checks, told to the admins once; the probes alone are not enough.
func TestProviderAcrossSourcesThroughTheBinary(t *testing.T) {
	const token = "424242:hostwatch-test"
	api := telegramtest.New(token)
	defer api.Close()
	var shops strings.Builder
	var downs []func(bool)
	for i := range 3 {
		srv, down := newShop(t)
		downs = append(downs, func(b bool) { down.Store(b) })
		fmt.Fprintf(&shops, "  - name: shop%d\n    contacts: [kim]\n    checks:\n      - {name: web, http: {url: %q}, labels: {provider: examplehost}}\n", i, srv.URL+"/")
	}
	p, base := intakeDaemon(t, api, `
providers:
  - name: examplehost
    match: {provider: examplehost}
    outage_when: {min_down: 5}
sources:
  - {name: prom, kind: alertmanager, token: "${PROM_INTAKE_TOKEN}", merchant: ops-team}
merchants:
  - {name: ops-team, contacts: [ops], checks: []}
`+shops.String())
	for _, down := range downs {
		down(true)
	}
	eventually(t, "the three shops' alerts", func() bool { return len(api.Messages(111)) == 3 })
	quiet(t, api, -100999, 0, "three checks down, below min_down")
	labelled := func(name, fp string) string {
		return fmt.Sprintf(`{"status": "firing", "labels": {"alertname": %q, "provider": "examplehost"}, "annotations": {},
			"startsAt": "2026-12-03T06:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": %q}`, name, fp)
	}
	body := amGroup("firing", labelled("NodeDown", "aaaa000011112222"), labelled("DiskFull", "bbbb000011112222"))
	if code, answer := post(t, base+"/intake/alertmanager/prom", "prom-secret", body); code != http.StatusAccepted {
		t.Fatalf("%d %s", code, answer)
	}
	eventually(t, "the provider's outage", func() bool {
		for _, m := range api.Messages(-100999) {
			if strings.Contains(m.Text, "examplehost looks down") && strings.Contains(m.Text, "5 of 5") {
				return true
			}
		}
		return false
	})
	time.Sleep(500 * time.Millisecond)
	n := 0
	for _, m := range api.Messages(-100999) {
		if strings.Contains(m.Text, "examplehost looks down") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d provider messages to the admins, want 1: %+v", n, api.Messages(-100999))
	}
	p.stop(t)
}

// grafanaBody is Grafana alerting's webhook contact point payload, as its
// documentation gives it, for one alert of kim-shop.
func grafanaBody(status, ends string) string {
	return fmt.Sprintf(`{
  "receiver": "hostwatch",
  "status": %[1]q,
  "orgId": 1,
  "alerts": [{
    "status": %[1]q,
    "labels": {"alertname": "High memory usage", "merchant": "kim-shop", "team": "blue", "zone": "us-1"},
    "annotations": {"description": "The system has high memory usage", "summary": "This alert was triggered for zone us-1"},
    "startsAt": "2026-12-03T06:51:03.157076+02:00",
    "endsAt": %[2]q,
    "generatorURL": "https://grafana.example/alerting/1afz29v7z/edit",
    "fingerprint": "c6eadffa33fcdf37",
    "silenceURL": "https://grafana.example/alerting/silence/new",
    "dashboardURL": "", "panelURL": "",
    "values": {"B": 44.23943737541908, "C": 1},
    "valueString": "[ var='B' labels={__name__=go_memstats_alloc_bytes} value=44.23943737541908 ]"
  }],
  "groupLabels": {}, "commonLabels": {"alertname": "High memory usage", "merchant": "kim-shop"}, "commonAnnotations": {},
  "externalURL": "https://grafana.example/", "version": "1", "groupKey": "{}:{alertname=\"High memory usage\"}",
  "truncatedAlerts": 0, "title": "[FIRING:1] (High memory usage blue us-1)", "state": "alerting",
  "message": "**Firing**"
}`, status, ends)
}

// eventBody is a PagerDuty Events API v2 request.
func eventBody(key, action, dedup string) string {
	payload := ""
	if action == "trigger" {
		payload = `, "payload": {"summary": "Payment reconciliation failed", "source": "billing-cron", "severity": "critical",
			"custom_details": {"merchant": "kim-shop", "job": "reconcile"}}`
	}
	return fmt.Sprintf(`{"routing_key": %q, "event_action": %q, "dedup_key": %q%s}`, key, action, dedup, payload)
}

// TestGrafanaAndEventsThroughTheBinary: Grafana's alert and an event
// trigger each alert kim-shop's owner once, whatever the repeats; the
// event's acknowledge is taken as a press of Acknowledge, by the source's
// name, and stops the escalation; resolved, each alert says so; a wrong
// token or routing key is 401 and changes nothing.
func TestGrafanaAndEventsThroughTheBinary(t *testing.T) {
	const token = "424242:hostwatch-test"
	api := telegramtest.New(token)
	defer api.Close()
	t.Setenv("PD_ROUTING_KEY", "0123456789abcdef0123456789abcdef")
	p, base := intakeDaemon(t, api, `
sources:
  - {name: graf, kind: grafana, token: "${PROM_INTAKE_TOKEN}", merchant_label: merchant, merchant: ops-team}
  - {name: pd, kind: events, token: "${PD_ROUTING_KEY}", merchant_label: merchant, merchant: ops-team}
merchants:
  - {name: kim-shop, contacts: [kim], checks: []}
  - {name: ops-team, contacts: [ops], checks: []}
`)
	graf, events := base+"/intake/grafana/graf", base+"/intake/events/pd"
	const key = "0123456789abcdef0123456789abcdef"

	if code, _ := post(t, graf, "nope", grafanaBody("firing", "0001-01-01T00:00:00Z")); code != http.StatusUnauthorized {
		t.Errorf("grafana with a wrong token: %d, want 401", code)
	}
	if code, _ := post(t, events, "", eventBody("fedcba9876543210fedcba9876543210", "trigger", "recon-2026-12-03")); code != http.StatusUnauthorized {
		t.Errorf("an event with a wrong routing key: %d, want 401", code)
	}
	quiet(t, api, 111, 0, "after refused requests")

	// Grafana: firing twice is one alert; resolved, it says so.
	for range 2 {
		if code, body := post(t, graf, "prom-secret", grafanaBody("firing", "0001-01-01T00:00:00Z")); code != http.StatusAccepted {
			t.Fatalf("grafana firing: %d %s", code, body)
		}
	}
	eventually(t, "grafana's alert", func() bool { return len(api.Messages(111)) == 1 })
	if got := api.Messages(111)[0]; !strings.Contains(got.Text, "graf/High memory usage") || !strings.Contains(got.Text, "zone us-1") ||
		!strings.Contains(got.Markup, "Acknowledge") {
		t.Errorf("grafana's alert = %+v", got)
	}
	quiet(t, api, 111, 1, "grafana firing again")
	if code, _ := post(t, graf, "prom-secret", grafanaBody("resolved", "2026-12-03T07:01:00+02:00")); code != http.StatusAccepted {
		t.Fatalf("grafana resolved: %d", code)
	}
	eventually(t, "grafana's recovery", func() bool {
		return len(api.Messages(111)) == 2 && strings.Contains(api.Messages(111)[0].Text, "resolved")
	})

	// Events: trigger, trigger again, acknowledge, resolve, one dedup_key.
	for range 2 {
		code, body := post(t, events, "", eventBody(key, "trigger", "recon-2026-12-03"))
		if code != http.StatusAccepted || !strings.Contains(body, `"dedup_key":"recon-2026-12-03"`) {
			t.Fatalf("trigger: %d %s", code, body)
		}
	}
	eventually(t, "the event's alert", func() bool { return len(api.Messages(111)) == 3 })
	alert := api.Messages(111)[2]
	if !strings.Contains(alert.Text, "Payment reconciliation failed") || !strings.Contains(alert.Markup, "Acknowledge") {
		t.Errorf("the event's alert = %+v", alert)
	}
	quiet(t, api, 111, 3, "the same trigger again")
	if code, _ := post(t, events, "", eventBody(key, "acknowledge", "recon-2026-12-03")); code != http.StatusAccepted {
		t.Fatalf("acknowledge: %d", code)
	}
	eventually(t, "the acknowledgement", func() bool { return strings.Contains(api.Messages(111)[2].Text, "Acknowledged by pd") })
	if strings.Contains(api.Messages(111)[2].Markup, "Acknowledge") {
		t.Errorf("the Acknowledge button is still there: %+v", api.Messages(111)[2])
	}
	time.Sleep(3500 * time.Millisecond) // past the admins' step
	for _, m := range api.Messages(-100999) {
		if strings.Contains(m.Text, "Payment reconciliation") {
			t.Errorf("escalated to the admins after the acknowledgement: %+v", m)
		}
	}
	if code, _ := post(t, events, "", eventBody(key, "resolve", "recon-2026-12-03")); code != http.StatusAccepted {
		t.Fatalf("resolve: %d", code)
	}
	eventually(t, "the event's recovery", func() bool {
		return len(api.Messages(111)) == 4 && strings.Contains(api.Messages(111)[2].Text, "resolved")
	})
	_, incidents := get(t, base+"/api/v1/incidents")
	if strings.Count(incidents, `"end": null`) != 0 || !strings.Contains(incidents, `"source": "pd"`) || !strings.Contains(incidents, `"source": "graf"`) {
		t.Errorf("incidents: %s", incidents)
	}
	p.stop(t)
}
