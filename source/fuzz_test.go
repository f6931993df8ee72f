package source

import (
	"encoding/json"
	"strings"
	"testing"
)

// The fuzzers read any body: they must not panic, must give no signals
// with an error, and each signal they give has a key Key makes, one of the
// three actions, and a merchant when it is down (checkFuzzed).

func FuzzAlertmanager(f *testing.F) {
	for _, body := range []string{
		amBody("firing", amWeb1, amWeb2),
		amBody("resolved", amResolved),
		amBody("firing", `{"status":"firing","labels":{"alertname":"Down","merchant":"kim-shop"}}`),
		amBody("firing", `{"status":"resolved","labels":{"alertname":"A"},"endsAt":"2024-05-01T10:04:00Z","fingerprint":"f"}`),
		amBody("resolved"),
		`{"version":"4"}`,
		`{"version":"4","alerts":[null]}`,
	} {
		f.Add([]byte(body))
	}
	in, _ := Of("alertmanager")
	f.Fuzz(func(t *testing.T, body []byte) { checkFuzzed(t, in, "alertmanager", body) })
}

func FuzzGrafana(f *testing.F) {
	for _, body := range []string{
		gfBody("firing", gfMemory, gfCPU),
		gfBody("resolved", gfResolved),
		`{"status":"firing","alerts":[{"status":"firing","labels":{"alertname":"TestAlert","instance":"Grafana"}}]}`,
		strings.Replace(gfBody("firing", gfMemory), `"version":"1"`, `"version":"4"`, 1),
	} {
		f.Add([]byte(body))
	}
	in, _ := Of("grafana")
	f.Fuzz(func(t *testing.T, body []byte) { checkFuzzed(t, in, "grafana", body) })
}

func FuzzEvents(f *testing.F) {
	for _, body := range []string{
		evTrigger,
		evAcknowledge,
		evResolve,
		evNoDedup,
		`{"routing_key":"k","dedup_key":"d","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","timestamp":"2024-05-01T10:00:01Z","custom_details":"x"}}`,
		`{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"high"}}`,
	} {
		f.Add([]byte(body))
	}
	in, _ := Of("events")
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFuzzed(t, in, "events", body)
		b, err := in.Read(body, testRoute("events"), testNow)
		if err != nil {
			return
		}
		if len(b.Signals) != 1 || b.Token == "" {
			t.Fatalf("an event read into %d signals, token %q", len(b.Signals), b.Token)
		}
		reply, ok := b.Reply.(eventReply)
		if !ok || reply.DedupKey == "" || Key(reply.DedupKey) != b.Signals[0].Key {
			t.Errorf("reply %+v for the key %q", b.Reply, b.Signals[0].Key)
		}
		if s := b.Signals[0]; s.Action != Down && s.Merchant != "" {
			t.Errorf("an %s names the merchant %q", s.Action, s.Merchant)
		}
		var kept map[string]json.RawMessage
		if json.Unmarshal([]byte(b.Signals[0].Evidence), &kept) == nil {
			for k, v := range kept {
				if strings.EqualFold(k, "routing_key") && string(v) != `"<secret>"` {
					t.Errorf("the evidence keeps %s: %s", k, v)
				}
			}
		}
	})
}
