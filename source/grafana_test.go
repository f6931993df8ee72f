package source

import (
	"strings"
	"testing"
	"time"
)

// Alerts as Grafana alerting's webhook contact point sends them, in the
// shape its documentation shows: values of the queries that fired them,
// and links to silence them and to their dashboard and panel.
const (
	gfMemory = `{"status":"firing","labels":{"alertname":"High memory usage","merchant":"kim-shop","zone":"kr-1"},` +
		`"annotations":{"description":"The shop's server uses 93% of its memory","runbook_url":"https://wiki.example.com/runbook/memory","summary":"Memory high on kim-shop's server"},` +
		`"startsAt":"2024-05-01T18:51:03.157076+09:00","endsAt":"0001-01-01T00:00:00Z",` +
		`"generatorURL":"https://grafana.example.com/alerting/grafana/1afz29v7z/view","fingerprint":"c6eadffa33fcdf37",` +
		`"silenceURL":"https://grafana.example.com/alerting/silence/new?alertmanager=grafana\u0026matcher=alertname%3DHigh+memory+usage",` +
		`"dashboardURL":"","panelURL":"","values":{"B":93.23943737541908,"C":1}}`
	gfCPU = `{"status":"firing","labels":{"alertname":"High CPU usage","merchant":"somebody-else","zone":"kr-2"},` +
		`"annotations":{"description":"The shop's server uses 97% of its CPU","runbook_url":"https://wiki.example.com/runbook/cpu","summary":"CPU high on the shop's server"},` +
		`"startsAt":"2024-05-01T18:56:03.157076+09:00","endsAt":"0001-01-01T00:00:00Z",` +
		`"generatorURL":"https://grafana.example.com/alerting/grafana/d1rdpdv7k/view","fingerprint":"bc97ff14869b13e3",` +
		`"silenceURL":"https://grafana.example.com/alerting/silence/new?alertmanager=grafana\u0026matcher=alertname%3DHigh+CPU+usage",` +
		`"dashboardURL":"https://grafana.example.com/d/shop","panelURL":"https://grafana.example.com/d/shop?viewPanel=2","values":{"B":97.1,"C":1}}`
	gfResolved = `{"status":"resolved","labels":{"alertname":"Checkout latency","merchant":"lee-mart"},"annotations":{},` +
		`"startsAt":"2024-05-01T09:10:00Z","endsAt":"2024-05-01T09:40:00Z","generatorURL":"https://grafana.example.com/alerting/grafana/k2/view",` +
		`"fingerprint":"77e1d0c2a9f3b845","silenceURL":"","dashboardURL":"","panelURL":"",` +
		`"valueString":"[ var='B' labels={} value=1.84 ]"}`
)

// gfBody wraps alerts in a notification as Grafana sends it.
func gfBody(status string, alerts ...string) string {
	return `{"receiver":"hostwatch","status":"` + status + `","orgId":1,"alerts":[` + strings.Join(alerts, ",") + `],` +
		`"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"https://grafana.example.com/",` +
		`"version":"1","groupKey":"{}:{}","truncatedAlerts":0,"title":"[FIRING:2]  (kr)","state":"alerting",` +
		`"message":"**Firing**\n\nValue: B=93.2, C=1\nLabels:\n - alertname = High memory usage\n"}`
}

func TestGrafanaRead(t *testing.T) {
	in, ok := Of("grafana")
	if !ok {
		t.Fatal("grafana is not registered")
	}
	if in.TokenInBody() {
		t.Error("grafana carries its token in the body")
	}
	kst := time.FixedZone("KST", 9*3600)
	for _, c := range []struct {
		name string
		body string
		want []Signal
	}{{
		name: "the documented notification of two firing alerts",
		body: gfBody("firing", gfMemory, gfCPU),
		want: []Signal{{
			Source: "prom", Key: "c6eadffa33fcdf37", Merchant: "kim-shop", Action: Down,
			At:    time.Date(2024, 5, 1, 18, 51, 3, 157076000, kst),
			Title: "prom/High memory usage", Summary: "Memory high on kim-shop's server",
			Labels:   map[string]string{"alertname": "High memory usage", "merchant": "kim-shop", "zone": "kr-1"},
			Evidence: gfMemory,
		}, {
			Source: "prom", Key: "bc97ff14869b13e3", Merchant: "ops", Action: Down,
			At:    time.Date(2024, 5, 1, 18, 56, 3, 157076000, kst),
			Title: "prom/High CPU usage", Summary: "CPU high on the shop's server",
			Labels:   map[string]string{"alertname": "High CPU usage", "merchant": "somebody-else", "zone": "kr-2"},
			Evidence: gfCPU,
		}},
	}, {
		name: "one resolved, told by its valueString",
		body: gfBody("resolved", gfResolved),
		want: []Signal{{
			Source: "prom", Key: "77e1d0c2a9f3b845", Merchant: "lee-mart", Action: Up,
			At:    time.Date(2024, 5, 1, 9, 40, 0, 0, time.UTC),
			Title: "prom/Checkout latency", Summary: "[ var='B' labels={} value=1.84 ]",
			Labels:   map[string]string{"alertname": "Checkout latency", "merchant": "lee-mart"},
			Evidence: gfResolved,
		}},
	}, {
		name: "a body without version, of an alert told by nothing but its name",
		body: `{"receiver":"hostwatch","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"TestAlert","instance":"Grafana"},"annotations":{"summary":""},"valueString":" "}]}`,
		want: []Signal{{
			Source: "prom", Key: Key(`{"alertname":"TestAlert","instance":"Grafana"}`), Merchant: "ops", Action: Down, At: testNow,
			Title: "prom/TestAlert", Summary: "TestAlert",
			Labels:   map[string]string{"alertname": "TestAlert", "instance": "Grafana"},
			Evidence: `{"status":"firing","labels":{"alertname":"TestAlert","instance":"Grafana"},"annotations":{"summary":""},"valueString":" "}`,
		}},
	}} {
		t.Run(c.name, func(t *testing.T) {
			b, err := in.Read([]byte(c.body), testRoute("grafana"), testNow)
			if err != nil {
				t.Fatal(err)
			}
			if b.Token != "" || b.Reply != nil {
				t.Errorf("token %q, reply %v", b.Token, b.Reply)
			}
			checkSignals(t, b.Signals, c.want)
		})
	}
}

// Alertmanager's alerts have no valueString: one that comes is not its
// summary.
func TestAlertmanagerIgnoresValueString(t *testing.T) {
	in, _ := Of("alertmanager")
	b, err := in.Read([]byte(amBody("firing", `{"status":"firing","labels":{"alertname":"X"},"valueString":"v=1"}`)), testRoute("alertmanager"), testNow)
	if err != nil || len(b.Signals) != 1 || b.Signals[0].Summary != "X" {
		t.Errorf("%v, %+v", err, b)
	}
}

func TestGrafanaRefuses(t *testing.T) {
	in, _ := Of("grafana")
	checkRefusals(t, in, "grafana", []refusal{
		{"invalid JSON", `{"receiver":"hostwatch",}`, "the body is not valid JSON: invalid character '}'"},
		{"Alertmanager's version", strings.Replace(gfBody("firing", gfMemory), `"version":"1"`, `"version":"4"`, 1),
			`version is "4"; this intake reads Grafana's webhook of version "1"`},
		{"legacy alerting's body", `{"title":"[Alerting] CPU","ruleId":1,"ruleName":"CPU","state":"alerting","evalMatches":[{"value":100,"metric":"cpu"}]}`,
			`the body has no "alerts" array; Grafana's webhook carries its alerts there`},
		{"an alert that is pending", gfBody("firing", strings.Replace(gfMemory, `"firing"`, `"pending"`, 1)),
			`alerts[0].status is "pending"; it must be "firing" or "resolved"`},
		{"an alert without alertname", gfBody("firing", gfMemory, `{"status":"firing","labels":{"grafana_folder":"shops"}}`),
			"alerts[1]: labels.alertname is missing or blank"},
		{"values that are an array", gfBody("firing", `{"status":"firing","labels":{"alertname":"X"},"valueString":["B"]}`),
			"alerts[0].valueString: a JSON array where a string must be"},
	})
}
