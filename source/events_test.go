package source

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Events as PagerDuty's Events API v2 documents them.
const (
	evTrigger = `{
  "payload": {
    "summary": "DISK at 99% on kim-shop's db-1",
    "timestamp": "2024-05-01T09:42:58.315+0000",
    "severity": "critical",
    "source": "db-1.kim-shop.example.com",
    "component": "mysql",
    "group": "shop-db",
    "class": "disk",
    "custom_details": {
      "merchant": "kim-shop",
      "free space": "1%",
      "load avg": 0.75,
      "mounts": ["/", "/var"]
    }
  },
  "routing_key": "e93facc04764012d7bfb002500d5d1a6",
  "dedup_key": "db-1/mysql",
  "event_action": "trigger",
  "client": "Sample Monitoring Service",
  "client_url": "https://monitoring.example.com",
  "links": [{"href": "https://monitoring.example.com/db-1", "text": "db-1's graphs"}],
  "images": [{"src": "https://monitoring.example.com/db-1/disk.png", "href": "https://monitoring.example.com/db-1", "alt": "disk of db-1"}]
}`
	evAcknowledge = `{"routing_key":"e93facc04764012d7bfb002500d5d1a6","dedup_key":"db-1/mysql","event_action":"acknowledge"}`
	evResolve     = `{"routing_key":"e93facc04764012d7bfb002500d5d1a6","dedup_key":"db-1/mysql","event_action":"resolve"}`
	evNoDedup     = `{"routing_key":"e93facc04764012d7bfb002500d5d1a6","event_action":"trigger",` +
		`"payload":{"summary":"Checkout answers 502","source":"shop.lee-mart.example.com","severity":"error","custom_details":{"merchant":"lee-mart"}}}`
)

// evidenceOf is body as the evidence keeps it: compact, its routing_key
// hidden (and its fields in the order of their names).
func evidenceOf(t *testing.T, body string) string {
	t.Helper()
	var all map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &all); err != nil {
		t.Fatal(err)
	}
	all["routing_key"] = json.RawMessage(`"<secret>"`)
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(all)
	return strings.TrimSuffix(b.String(), "\n")
}

func TestEventsRead(t *testing.T) {
	in, ok := Of("events")
	if !ok {
		t.Fatal("events is not registered")
	}
	if !in.TokenInBody() {
		t.Error("events carries its token as a bearer token")
	}
	long := strings.Repeat("가", 85) + " on kim-shop"
	for _, c := range []struct {
		name  string
		route Route
		body  string
		want  Signal
		dedup string
	}{{
		name:  "a trigger",
		body:  evTrigger,
		dedup: "db-1/mysql",
		want: Signal{
			Source: "prom", Key: Key("db-1/mysql"), Merchant: "kim-shop", Action: Down,
			At:      time.Date(2024, 5, 1, 9, 42, 58, 315e6, time.UTC),
			Title:   "prom/DISK at 99% on kim-shop's db-1",
			Summary: "DISK at 99% on kim-shop's db-1",
			Labels: map[string]string{"merchant": "kim-shop", "free space": "1%", "severity": "critical",
				"source": "db-1.kim-shop.example.com", "component": "mysql", "group": "shop-db", "class": "disk"},
		},
	}, {
		name:  "its acknowledgement names no merchant",
		body:  evAcknowledge,
		dedup: "db-1/mysql",
		want:  Signal{Source: "prom", Key: Key("db-1/mysql"), Action: Ack, At: testNow, Title: "prom/db-1/mysql"},
	}, {
		name:  "its resolution names no merchant",
		body:  evResolve,
		dedup: "db-1/mysql",
		want:  Signal{Source: "prom", Key: Key("db-1/mysql"), Action: Up, At: testNow, Title: "prom/db-1/mysql"},
	}, {
		name:  "a resolution with a payload and a time",
		body:  `{"routing_key":"k","dedup_key":"checkout-502","event_action":"resolve","payload":{"summary":"Checkout answers again","timestamp":"2024-05-01T18:30:00+09:00","severity":"info"}}`,
		dedup: "checkout-502",
		want: Signal{Source: "prom", Key: "checkout-502", Action: Up, At: time.Date(2024, 5, 1, 9, 30, 0, 0, time.UTC),
			Title: "prom/Checkout answers again", Summary: "Checkout answers again", Labels: map[string]string{"severity": "info"}},
	}, {
		name: "a merchant not configured goes to the source's",
		body: `{"routing_key":"k","dedup_key":"d1","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"warning","custom_details":{"merchant":"nobody-shop"}}}`,
		want: Signal{Source: "prom", Key: "d1", Merchant: "ops", Action: Down, At: testNow, Title: "prom/s", Summary: "s",
			Labels: map[string]string{"merchant": "nobody-shop", "severity": "warning", "source": "h"}},
		dedup: "d1",
	}, {
		name: "a merchant that is no string goes to the source's",
		body: `{"routing_key":"k","dedup_key":"d2","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"warning","custom_details":{"merchant":["kim-shop"]}}}`,
		want: Signal{Source: "prom", Key: "d2", Merchant: "ops", Action: Down, At: testNow, Title: "prom/s", Summary: "s",
			Labels: map[string]string{"severity": "warning", "source": "h"}},
		dedup: "d2",
	}, {
		name: "custom details that are text name no merchant",
		body: `{"routing_key":"k","dedup_key":"d3","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","custom_details":"merchant kim-shop"}}`,
		want: Signal{Source: "prom", Key: "d3", Merchant: "ops", Action: Down, At: testNow, Title: "prom/s", Summary: "s",
			Labels: map[string]string{"severity": "info", "source": "h"}},
		dedup: "d3",
	}, {
		name: "a source without merchant_label reads none",
		route: func() Route {
			r := testRoute("events")
			r.MerchantLabel = ""
			return r
		}(),
		body: `{"routing_key":"k","dedup_key":"d4","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","custom_details":{"merchant":"kim-shop"}}}`,
		want: Signal{Source: "prom", Key: "d4", Merchant: "ops", Action: Down, At: testNow, Title: "prom/s", Summary: "s",
			Labels: map[string]string{"merchant": "kim-shop", "severity": "info", "source": "h"}},
		dedup: "d4",
	}, {
		name: "the payload's own fields are its labels before custom details",
		body: `{"routing_key":"k","dedup_key":"d5","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","custom_details":{"severity":"sev1","source":"other"}}}`,
		want: Signal{Source: "prom", Key: "d5", Merchant: "ops", Action: Down, At: testNow, Title: "prom/s", Summary: "s",
			Labels: map[string]string{"severity": "info", "source": "h"}},
		dedup: "d5",
	}, {
		name: "a time to come is now, a long summary is cut in the title",
		body: `{"routing_key":"k","dedup_key":"d6","event_action":"trigger","payload":{"summary":"` + long + `","source":"h","severity":"critical","timestamp":"2024-05-01T10:00:01Z"}}`,
		want: Signal{Source: "prom", Key: "d6", Merchant: "ops", Action: Down, At: testNow,
			Title: "prom/" + strings.Repeat("가", 80), Summary: long,
			Labels: map[string]string{"severity": "critical", "source": "h"}},
		dedup: "d6",
	}} {
		t.Run(c.name, func(t *testing.T) {
			r := c.route
			if r.Name == "" {
				r = testRoute("events")
			}
			b, err := in.Read([]byte(c.body), r, testNow)
			if err != nil {
				t.Fatal(err)
			}
			c.want.Evidence = evidenceOf(t, c.body)
			checkSignals(t, b.Signals, []Signal{c.want})
			var token struct {
				RoutingKey string `json:"routing_key"`
			}
			json.Unmarshal([]byte(c.body), &token)
			if b.Token != token.RoutingKey {
				t.Errorf("token %q, want %q", b.Token, token.RoutingKey)
			}
			if want := (eventReply{Status: "success", Message: "Event processed", DedupKey: c.dedup}); b.Reply != want {
				t.Errorf("reply %+v, want %+v", b.Reply, want)
			}
		})
	}
}

func TestEventsTriggerWithoutDedupKey(t *testing.T) {
	in, _ := Of("events")
	keys := map[string]bool{}
	for range 2 {
		b, err := in.Read([]byte(evNoDedup), testRoute("events"), testNow)
		if err != nil {
			t.Fatal(err)
		}
		reply, _ := b.Reply.(eventReply)
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(reply.DedupKey) {
			t.Fatalf("dedup_key %q is not 32 hex digits", reply.DedupKey)
		}
		checkSignals(t, b.Signals, []Signal{{
			Source: "prom", Key: reply.DedupKey, Merchant: "lee-mart", Action: Down, At: testNow,
			Title: "prom/Checkout answers 502", Summary: "Checkout answers 502",
			Labels:   map[string]string{"merchant": "lee-mart", "severity": "error", "source": "shop.lee-mart.example.com"},
			Evidence: evidenceOf(t, evNoDedup),
		}})
		keys[reply.DedupKey] = true
	}
	if len(keys) != 2 {
		t.Errorf("two triggers without dedup_key made one key: %v", keys)
	}
}

// The routing_key is the source's token: kept out of the evidence
// whatever the case of its name.
func TestEventsEvidenceKeepsNoToken(t *testing.T) {
	in, _ := Of("events")
	for _, body := range []string{evTrigger, strings.Replace(evAcknowledge, "routing_key", "Routing_Key", 1)} {
		b, err := in.Read([]byte(body), testRoute("events"), testNow)
		if err != nil {
			t.Fatal(err)
		}
		if b.Token != "e93facc04764012d7bfb002500d5d1a6" {
			t.Errorf("token %q", b.Token)
		}
		if ev := b.Signals[0].Evidence; strings.Contains(ev, "e93facc0") || !strings.Contains(ev, "<secret>") {
			t.Errorf("evidence %s", ev)
		}
	}
	b, _ := in.Read([]byte(evAcknowledge), testRoute("events"), testNow)
	if want := `{"dedup_key":"db-1/mysql","event_action":"acknowledge","routing_key":"<secret>"}`; b.Signals[0].Evidence != want {
		t.Errorf("evidence %s, want %s", b.Signals[0].Evidence, want)
	}
}

func TestEventsRefuses(t *testing.T) {
	in, _ := Of("events")
	trigger := func(payload string) string {
		return `{"routing_key":"k","dedup_key":"d","event_action":"trigger","payload":` + payload + `}`
	}
	checkRefusals(t, in, "events", []refusal{
		{"invalid JSON", `{"routing_key":"k"`, "the body is not valid JSON"},
		{"not an object", `"trigger"`, "the body: a JSON string where an object must be"},
		{"no routing_key", strings.Replace(evResolve, `"routing_key":"e93facc04764012d7bfb002500d5d1a6",`, ``, 1), "'routing_key' is missing or blank"},
		{"a blank routing_key", strings.Replace(evResolve, `"e93facc04764012d7bfb002500d5d1a6"`, `" "`, 1), "'routing_key' is missing or blank"},
		{"no event_action", `{"routing_key":"k","dedup_key":"d"}`, "'event_action' is missing or blank"},
		{"an unknown event_action", `{"routing_key":"k","dedup_key":"d","event_action":"escalate"}`,
			`'event_action' is "escalate"; it must be one of trigger, acknowledge, resolve`},
		{"an acknowledge without dedup_key", `{"routing_key":"k","event_action":"acknowledge"}`,
			"'dedup_key' is missing or blank; it names the alert to acknowledge"},
		{"a resolve with a blank dedup_key", `{"routing_key":"k","dedup_key":"","event_action":"resolve"}`,
			"'dedup_key' is missing or blank; it names the alert to resolve"},
		{"a dedup_key over 255 characters", `{"routing_key":"k","event_action":"resolve","dedup_key":"` + strings.Repeat("d", 256) + `"}`,
			"'dedup_key' is 256 characters; it must be at most 255"},
		{"a trigger without payload", `{"routing_key":"k","event_action":"trigger"}`,
			"'payload.summary' is missing or blank; 'payload.source' is missing or blank; 'payload.severity' is missing or blank"},
		{"a trigger without severity", trigger(`{"summary":"s","source":"h"}`), "'payload.severity' is missing or blank"},
		{"a blank summary", trigger(`{"summary":" ","source":"h","severity":"info"}`), "'payload.summary' is missing or blank"},
		{"an unknown severity", trigger(`{"summary":"s","source":"h","severity":"high"}`),
			`'payload.severity' must be one of critical, error, warning, info, not "high"`},
		{"a summary over 1024 characters", trigger(`{"summary":"` + strings.Repeat("요", 1025) + `","source":"h","severity":"info"}`),
			"'payload.summary' is 1025 characters; it must be at most 1024"},
		{"a timestamp that is no time", trigger(`{"summary":"s","source":"h","severity":"info","timestamp":"yesterday"}`),
			`'payload.timestamp' is "yesterday"; it must be an ISO 8601 time such as 2015-07-17T08:42:58.315+0000`},
		{"a payload that is text", trigger(`"disk full"`), "payload: a JSON string where an object must be"},
		{"a summary that is a number", trigger(`{"summary":99,"source":"h","severity":"info"}`), "payload.summary: a JSON number where a string must be"},
		{"all that is wrong at once", `{"event_action":"trigger","payload":{"source":"h","severity":"sev1"}}`,
			`'routing_key' is missing or blank; 'payload.summary' is missing or blank; 'payload.severity' must be one of critical, error, warning, info, not "sev1"`},
	})
}
