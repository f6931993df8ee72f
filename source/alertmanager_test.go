package source

import (
	"strings"
	"testing"
	"time"
)

// Alerts as Alertmanager's webhook (version 4) sends them, one a line.
const (
	amWeb1 = `{"status":"firing","labels":{"alertname":"HighErrorRate","instance":"web-1:9100","job":"shop","merchant":"kim-shop","severity":"critical"},` +
		`"annotations":{"description":"web-1 answers 12% of requests with 5xx","summary":"5xx above 5% on web-1"},` +
		`"startsAt":"2024-05-01T09:58:00.123Z","endsAt":"0001-01-01T00:00:00Z",` +
		`"generatorURL":"http://prometheus.example.com:9090/graph?g0.expr=job%3Ashop%3Aerror_rate+%3E+0.05\u0026g0.tab=1","fingerprint":"6a1c3e0d2f4b5a79"}`
	amWeb2 = `{"status":"firing","labels":{"alertname":"HighErrorRate","instance":"web-2:9100","job":"shop","merchant":"kim-shop","severity":"critical"},` +
		`"annotations":{"description":"web-2 answers 7% of requests with 5xx"},` +
		`"startsAt":"2024-05-01T11:59:30+02:00","endsAt":"0001-01-01T00:00:00Z",` +
		`"generatorURL":"http://prometheus.example.com:9090/graph?g0.expr=job%3Ashop%3Aerror_rate+%3E+0.05\u0026g0.tab=1","fingerprint":"9e2f7c41b0a3d658"}`
	amResolved = `{"status":"resolved","labels":{"alertname":"DiskFull","device":"/dev/sda1","instance":"db-1:9100","merchant":"lee-mart"},` +
		`"annotations":{},"startsAt":"2024-05-01T08:00:00Z","endsAt":"2024-05-01T09:45:00Z",` +
		`"generatorURL":"http://prometheus.example.com:9090/graph?g0.expr=node_filesystem_avail_bytes","fingerprint":"0c4d2a9be1f37a55"}`
)

// amBody wraps alerts in a group as Alertmanager sends it.
func amBody(status string, alerts ...string) string {
	return `{"receiver":"hostwatch","status":"` + status + `","alerts":[` + strings.Join(alerts, ",") + `],` +
		`"groupLabels":{"alertname":"HighErrorRate"},"commonLabels":{"alertname":"HighErrorRate","job":"shop"},` +
		`"commonAnnotations":{},"externalURL":"http://alertmanager.example.com:9093","version":"4",` +
		`"groupKey":"{}/{job=\"shop\"}:{alertname=\"HighErrorRate\"}","truncatedAlerts":0}`
}

func TestAlertmanagerRead(t *testing.T) {
	in, ok := Of("alertmanager")
	if !ok {
		t.Fatal("alertmanager is not registered")
	}
	if in.TokenInBody() {
		t.Error("alertmanager carries its token in the body")
	}
	web1Labels := map[string]string{"alertname": "HighErrorRate", "instance": "web-1:9100", "job": "shop", "merchant": "kim-shop", "severity": "critical"}
	web2Labels := map[string]string{"alertname": "HighErrorRate", "instance": "web-2:9100", "job": "shop", "merchant": "kim-shop", "severity": "critical"}
	diskLabels := map[string]string{"alertname": "DiskFull", "device": "/dev/sda1", "instance": "db-1:9100", "merchant": "lee-mart"}
	for _, c := range []struct {
		name string
		body string
		want []Signal
	}{{
		name: "a firing group of two alerts of kim-shop",
		body: amBody("firing", amWeb1, amWeb2),
		want: []Signal{{
			Source: "prom", Key: "6a1c3e0d2f4b5a79", Merchant: "kim-shop", Action: Down,
			At:    time.Date(2024, 5, 1, 9, 58, 0, 123e6, time.UTC),
			Title: "prom/HighErrorRate", Summary: "5xx above 5% on web-1", Labels: web1Labels, Evidence: amWeb1,
		}, {
			Source: "prom", Key: "9e2f7c41b0a3d658", Merchant: "kim-shop", Action: Down,
			At:    time.Date(2024, 5, 1, 9, 59, 30, 0, time.UTC),
			Title: "prom/HighErrorRate", Summary: "web-2 answers 7% of requests with 5xx", Labels: web2Labels, Evidence: amWeb2,
		}},
	}, {
		name: "one resolved, told by its alertname",
		body: amBody("resolved", amResolved),
		want: []Signal{{
			Source: "prom", Key: "0c4d2a9be1f37a55", Merchant: "lee-mart", Action: Up,
			At:    time.Date(2024, 5, 1, 9, 45, 0, 0, time.UTC),
			Title: "prom/DiskFull", Summary: "DiskFull", Labels: diskLabels, Evidence: amResolved,
		}},
	}, {
		name: "an unknown merchant and none go to the source's",
		body: amBody("firing",
			`{"status":"firing","labels":{"alertname":"Down","merchant":"nobody-shop"},"startsAt":"2024-05-01T09:00:00Z","fingerprint":"a1"}`,
			`{"status":"firing","labels":{"alertname":"Down","merchant":""},"startsAt":"2024-05-01T09:00:00Z","fingerprint":"a2"}`,
			`{"status":"firing","labels":{"alertname":"Down"},"startsAt":"2024-05-01T09:00:00Z","fingerprint":"a3"}`),
		want: []Signal{{
			Source: "prom", Key: "a1", Merchant: "ops", Action: Down, At: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC),
			Title: "prom/Down", Summary: "Down", Labels: map[string]string{"alertname": "Down", "merchant": "nobody-shop"},
			Evidence: `{"status":"firing","labels":{"alertname":"Down","merchant":"nobody-shop"},"startsAt":"2024-05-01T09:00:00Z","fingerprint":"a1"}`,
		}, {
			Source: "prom", Key: "a2", Merchant: "ops", Action: Down, At: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC),
			Title: "prom/Down", Summary: "Down", Labels: map[string]string{"alertname": "Down", "merchant": ""},
			Evidence: `{"status":"firing","labels":{"alertname":"Down","merchant":""},"startsAt":"2024-05-01T09:00:00Z","fingerprint":"a2"}`,
		}, {
			Source: "prom", Key: "a3", Merchant: "ops", Action: Down, At: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC),
			Title: "prom/Down", Summary: "Down", Labels: map[string]string{"alertname": "Down"},
			Evidence: `{"status":"firing","labels":{"alertname":"Down"},"startsAt":"2024-05-01T09:00:00Z","fingerprint":"a3"}`,
		}},
	}, {
		name: "times not yet known or to come are now",
		body: amBody("firing",
			`{"status":"firing","labels":{"alertname":"A"},"startsAt":"0001-01-01T00:00:00Z","fingerprint":"f1"}`,
			`{"status":"firing","labels":{"alertname":"B"},"fingerprint":"f2"}`,
			`{"status":"firing","labels":{"alertname":"C"},"startsAt":"2024-05-01T10:05:00Z","fingerprint":"f3"}`,
			`{"status":"resolved","labels":{"alertname":"D"},"startsAt":"2024-05-01T09:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f4"}`,
			`{"status":"resolved","labels":{"alertname":"E"},"startsAt":"2024-05-01T09:00:00Z","endsAt":"2024-05-01T10:04:00Z","fingerprint":"f5"}`),
		want: []Signal{
			{Source: "prom", Key: "f1", Merchant: "ops", Action: Down, At: testNow, Title: "prom/A", Summary: "A", Labels: map[string]string{"alertname": "A"},
				Evidence: `{"status":"firing","labels":{"alertname":"A"},"startsAt":"0001-01-01T00:00:00Z","fingerprint":"f1"}`},
			{Source: "prom", Key: "f2", Merchant: "ops", Action: Down, At: testNow, Title: "prom/B", Summary: "B", Labels: map[string]string{"alertname": "B"},
				Evidence: `{"status":"firing","labels":{"alertname":"B"},"fingerprint":"f2"}`},
			{Source: "prom", Key: "f3", Merchant: "ops", Action: Down, At: testNow, Title: "prom/C", Summary: "C", Labels: map[string]string{"alertname": "C"},
				Evidence: `{"status":"firing","labels":{"alertname":"C"},"startsAt":"2024-05-01T10:05:00Z","fingerprint":"f3"}`},
			{Source: "prom", Key: "f4", Merchant: "ops", Action: Up, At: testNow, Title: "prom/D", Summary: "D", Labels: map[string]string{"alertname": "D"},
				Evidence: `{"status":"resolved","labels":{"alertname":"D"},"startsAt":"2024-05-01T09:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f4"}`},
			{Source: "prom", Key: "f5", Merchant: "ops", Action: Up, At: testNow, Title: "prom/E", Summary: "E", Labels: map[string]string{"alertname": "E"},
				Evidence: `{"status":"resolved","labels":{"alertname":"E"},"startsAt":"2024-05-01T09:00:00Z","endsAt":"2024-05-01T10:04:00Z","fingerprint":"f5"}`},
		},
	}, {
		name: "a blank summary gives way to the description, written out of one line",
		body: amBody("firing", "{\n  \"status\": \"firing\",\n  \"labels\": {\"alertname\": \"Slow\"},\n  \"annotations\": {\"summary\": \"  \", \"description\": \"p99 over 2 s\"},\n  \"fingerprint\": \"s1\"\n}"),
		want: []Signal{{
			Source: "prom", Key: "s1", Merchant: "ops", Action: Down, At: testNow, Title: "prom/Slow", Summary: "p99 over 2 s",
			Labels:   map[string]string{"alertname": "Slow"},
			Evidence: `{"status":"firing","labels":{"alertname":"Slow"},"annotations":{"summary":"  ","description":"p99 over 2 s"},"fingerprint":"s1"}`,
		}},
	}, {
		name: "a long fingerprint is hashed",
		body: amBody("firing", `{"status":"firing","labels":{"alertname":"X"},"fingerprint":"`+strings.Repeat("f", 65)+`"}`),
		want: []Signal{{
			Source: "prom", Key: Key(strings.Repeat("f", 65)), Merchant: "ops", Action: Down, At: testNow, Title: "prom/X", Summary: "X",
			Labels:   map[string]string{"alertname": "X"},
			Evidence: `{"status":"firing","labels":{"alertname":"X"},"fingerprint":"` + strings.Repeat("f", 65) + `"}`,
		}},
	}, {
		name: "an empty group",
		body: amBody("resolved"),
		want: nil,
	}} {
		t.Run(c.name, func(t *testing.T) {
			b, err := in.Read([]byte(c.body), testRoute("alertmanager"), testNow)
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

func TestAlertmanagerKeyWithoutFingerprint(t *testing.T) {
	in, _ := Of("alertmanager")
	read := func(alert string) Signal {
		t.Helper()
		b, err := in.Read([]byte(amBody("firing", alert)), testRoute("alertmanager"), testNow)
		if err != nil || len(b.Signals) != 1 {
			t.Fatalf("%v, %+v", err, b)
		}
		return b.Signals[0]
	}
	a := read(`{"status":"firing","labels":{"alertname":"Down","instance":"web-1","merchant":"kim-shop"}}`)
	b := read(`{"status":"resolved","labels":{"merchant":"kim-shop","instance":"web-1","alertname":"Down"},"fingerprint":""}`)
	c := read(`{"status":"firing","labels":{"alertname":"Down","instance":"web-2","merchant":"kim-shop"}}`)
	if !keyAlphabet.MatchString(a.Key) || len(a.Key) != 16 {
		t.Errorf("key %q is not 16 hex digits", a.Key)
	}
	if a.Key != b.Key {
		t.Errorf("the same labels in another order made %q and %q", a.Key, b.Key)
	}
	if a.Key == c.Key {
		t.Errorf("other labels made the same key %q", a.Key)
	}
}

func TestAlertmanagerRefuses(t *testing.T) {
	in, _ := Of("alertmanager")
	checkRefusals(t, in, "alertmanager", []refusal{
		{"no body", ``, "the body is not valid JSON: unexpected end of JSON input"},
		{"invalid JSON", `{"version":"4","alerts":[`, "the body is not valid JSON"},
		{"not an object", `[{"status":"firing"}]`, "the body: a JSON array where an object must be"},
		{"version 3", strings.Replace(amBody("firing", amWeb1), `"version":"4"`, `"version":"3"`, 1),
			`version is "3"; this intake reads Alertmanager's webhook of version "4"`},
		{"no version", strings.Replace(amBody("firing", amWeb1), `"version":"4",`, ``, 1),
			`the body has no version; this intake reads Alertmanager's webhook of version "4"`},
		{"a version that is a number", strings.Replace(amBody("firing", amWeb1), `"version":"4"`, `"version":4`, 1),
			"version: a JSON number where a string must be"},
		{"no alerts", `{"version":"4","status":"firing","receiver":"hostwatch"}`, `the body has no "alerts" array`},
		{"null alerts", `{"version":"4","alerts":null}`, `the body has no "alerts" array`},
		{"alerts that are an object", `{"version":"4","alerts":{"status":"firing"}}`, "alerts: a JSON object where an array must be"},
		{"an alert that is pending", amBody("firing", amWeb1, strings.Replace(amWeb2, `"firing"`, `"pending"`, 1)),
			`alerts[1].status is "pending"; it must be "firing" or "resolved"`},
		{"an alert with no status", amBody("firing", `{"labels":{"alertname":"X"}}`), `alerts[0].status is ""`},
		{"an alert that is null", amBody("firing", `null`), `alerts[0]: labels.alertname is missing or blank`},
		{"an alert without alertname", amBody("firing", `{"status":"firing","labels":{"instance":"web-1"},"fingerprint":"x"}`),
			"alerts[0]: labels.alertname is missing or blank; every alert needs the alertname label that names it"},
		{"an alert without labels", amBody("firing", amWeb1, `{"status":"resolved","fingerprint":"x"}`),
			"alerts[1]: labels.alertname is missing or blank"},
		{"a label that is a number", amBody("firing", `{"status":"firing","labels":{"alertname":"X","code":500}}`),
			"alerts[0].labels: a JSON number where a string must be"},
		{"a startsAt that is no time", amBody("firing", `{"status":"firing","labels":{"alertname":"X"},"startsAt":"yesterday"}`),
			`alerts[0].startsAt is "yesterday"; it must be an RFC 3339 time`},
		{"an endsAt that is no time", amBody("resolved", `{"status":"resolved","labels":{"alertname":"X"},"endsAt":"2024-05-01 09:00"}`),
			`alerts[0].endsAt is "2024-05-01 09:00"; it must be an RFC 3339 time`},
	})
}
