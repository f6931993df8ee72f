package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/notifier/slack/slacktest"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

// TestSlackAlertAndRecovery runs the binary with a slack section pointed at
// the fake Web API, which first answers 429 with Retry-After: 2. The alert
// arrives after the wait, not lost; the recovery updates it (no buttons)
// and posts the downtime in its thread.
func TestSlackAlertAndRecovery(t *testing.T) {
	const token = "xoxb-hostwatch-test"
	api := slacktest.New(token)
	defer api.Close()
	shop, down := newShop(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
storage: {dsn: %q}
http: {listen: %q}
defaults: {schedule: "@every 1s", down_after: 1, up_after: 1, timeout: 2s, group_wait: 0s}
slack:
  token: ${SLACK_TOKEN}
  signing_secret: ${SLACK_SECRET}
  api_url: %q
contacts:
  - {name: agency, slack: C0123}
merchants:
  - name: kim-shop
    contacts: [agency]
    checks:
      - {name: storefront, http: {url: "%s/", contains: cart}}
`, filepath.Join(dir, "h.db"), freeAddr(t), api.APIURL(), shop.URL))
	t.Setenv("SLACK_TOKEN", token)
	t.Setenv("SLACK_SECRET", "signing-secret")
	p := startDaemon(t, dir, cfg)
	api.FailNext(1, 429, "2")
	down.Store(true)
	wentDown := time.Now()
	eventually(t, "the alert", func() bool { return len(api.Messages("C0123")) == 1 })
	if took := time.Since(wentDown); took < 2*time.Second {
		t.Errorf("the alert came %v after the outage, inside Slack's Retry-After of 2s", took)
	}
	if n := api.Calls("chat.postMessage"); n != 2 {
		t.Errorf("%d chat.postMessage calls, want the refused one and the one after the wait", n)
	}
	alert := api.Messages("C0123")[0]
	if !strings.Contains(alert.Blocks, `"Acknowledge"`) || !strings.Contains(alert.Blocks, `"Silence 1h"`) || !strings.Contains(alert.Text, "DOWN kim-shop/storefront") {
		t.Errorf("alert = %+v", alert)
	}
	down.Store(false)
	eventually(t, "the recovery", func() bool { return len(api.Messages("C0123")) == 2 })
	p.stop(t)
	msgs := api.Messages("C0123")
	if msgs[0].Updates != 1 || strings.Contains(msgs[0].Blocks, "Acknowledge") || !strings.Contains(msgs[0].Blocks, "is back") {
		t.Errorf("alert after recovery = %+v", msgs[0])
	}
	if msgs[1].ThreadTS != msgs[0].TS || !strings.Contains(msgs[1].Text, ", down ") {
		t.Errorf("downtime message = %+v", msgs[1])
	}
}

// TestSlackCommandsAndButtons: signed requests are answered through their
// response_url; unsigned, forged and five-minute-old ones get 401 and
// change nothing.
func TestSlackCommandsAndButtons(t *testing.T) {
	const token, secret = "xoxb-hostwatch-test", "signing-secret"
	api := slacktest.New(token)
	defer api.Close()
	shop, down := newShop(t)
	dir := t.TempDir()
	listen := freeAddr(t)
	db := filepath.Join(dir, "h.db")
	cfg := writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
storage: {dsn: %q}
http: {listen: %q}
defaults: {schedule: "@every 1s", down_after: 1, up_after: 1, timeout: 2s, group_wait: 0s}
slack:
  token: ${SLACK_TOKEN}
  signing_secret: ${SLACK_SECRET}
  api_url: %q
contacts:
  - {name: kim, slack: U0KIM}
  - {name: agency, slack: C0123}
merchants:
  - name: kim-shop
    contacts: [kim, agency]
    checks:
      - {name: storefront, http: {url: "%s/", contains: cart}}
`, db, listen, api.APIURL(), shop.URL))
	t.Setenv("SLACK_TOKEN", token)
	t.Setenv("SLACK_SECRET", secret)
	p := startDaemon(t, dir, cfg)
	defer p.stop(t)
	down.Store(true)
	eventually(t, "the alert", func() bool { return len(api.Messages("C0123")) == 1 })

	post := func(path string, form url.Values, sign func(*http.Request, []byte)) int {
		body := []byte(form.Encode())
		req, _ := http.NewRequest(http.MethodPost, "http://"+listen+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sign != nil {
			sign(req, body)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	signed := func(req *http.Request, body []byte) { slacktest.Sign(req, secret, body, time.Now()) }
	command := func(user, channel, text, name string) url.Values {
		return url.Values{"command": {"/hostwatch"}, "text": {text}, "user_id": {user}, "channel_id": {channel},
			"response_url": {api.ResponseURL(name)}}
	}
	pressing := func(user, name, action, value string) url.Values {
		payload, _ := json.Marshal(map[string]any{
			"type": "block_actions", "user": map[string]any{"id": user}, "channel": map[string]any{"id": "C0123"},
			"response_url": api.ResponseURL(name),
			"actions":      []map[string]any{{"action_id": action, "block_id": "alert-1", "value": value, "type": "button"}},
		})
		return url.Values{"payload": {string(payload)}}
	}
	press := func(user, name string) url.Values { return pressing(user, name, "ack", "ack:1") }

	// Refused: no signature, a forged one, one five minutes old.
	for _, sign := range []func(*http.Request, []byte){
		nil,
		func(req *http.Request, body []byte) { slacktest.Sign(req, "not-the-secret", body, time.Now()) },
		func(req *http.Request, body []byte) {
			slacktest.Sign(req, secret, body, time.Now().Add(-6*time.Minute))
		},
	} {
		if code := post("/slack/interactions", press("U0KIM", "forged"), sign); code != http.StatusUnauthorized {
			t.Errorf("interaction: %d, want 401", code)
		}
		if code := post("/slack/commands", command("U0KIM", "C0123", "ack 1", "forged"), sign); code != http.StatusUnauthorized {
			t.Errorf("command: %d, want 401", code)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if len(api.Responses()) != 0 || api.Messages("C0123")[0].Updates != 0 {
		t.Fatalf("a refused request had effects: %+v", api.Responses())
	}
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if in, err := st.Incident(context.Background(), 1); err != nil || in.AckBy != "" {
		t.Fatalf("after refused requests the incident is %+v, %v", in, err)
	}
	st.Close()

	// Signed: /hostwatch status for the owner and for a stranger.
	if code := post("/slack/commands", command("U0KIM", "D0DM", "status", "kim"), signed); code != http.StatusOK {
		t.Fatalf("signed command: %d", code)
	}
	post("/slack/commands", command("U0STRANGER", "D0DM2", "status", "stranger"), signed)
	eventually(t, "two answers", func() bool { return len(api.Responses()) == 2 })
	for _, r := range api.Responses() {
		text := r.Body["text"].(string)
		switch r.Name {
		case "kim":
			if !strings.Contains(text, "kim-shop/storefront — down") {
				t.Errorf("owner's status: %q", text)
			}
		case "stranger":
			if !strings.Contains(text, "not registered") || !strings.Contains(text, "U0STRANGER") || strings.Contains(text, "kim-shop") {
				t.Errorf("stranger's status: %q", text)
			}
		}
	}

	// A signed Acknowledge press: answered, and the alert updated in place.
	if code := post("/slack/interactions", press("U0KIM", "ack"), signed); code != http.StatusOK {
		t.Fatalf("signed press: %d", code)
	}
	eventually(t, "the update", func() bool { return api.Messages("C0123")[0].Updates == 1 })
	alert := api.Messages("C0123")[0]
	blocks := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(alert.Blocks)
	if !strings.Contains(blocks, "Acknowledged by <@U0KIM>") || strings.Contains(blocks, `"Acknowledge"`) {
		t.Errorf("alert after the press: %+v", alert)
	}

	// The alert's Silence 1h button, then silences by command.
	silence := regexp.MustCompile(`silence:g[0-9]+:1h0m0s`).FindString(alert.Blocks)
	if silence == "" {
		t.Fatalf("no Silence button on the alert: %s", alert.Blocks)
	}
	// One after the other: each is answered after the request, and the
	// silences are numbered in the order they are taken.
	post("/slack/interactions", pressing("U0KIM", "silence-button", "silence", silence), signed)
	eventually(t, "the button's silence", func() bool { return len(api.Responses()) == 4 })
	silenceCmd := command("U0KIM", "D0DM", "silence kim-shop 2h moving hosts", "silence")
	var silenceSigned http.Header
	post("/slack/commands", silenceCmd, func(req *http.Request, body []byte) {
		signed(req, body)
		silenceSigned = req.Header.Clone()
	})
	eventually(t, "two silences", func() bool { return len(api.Responses()) == 5 })
	// The same signed request again, as it was and with one hex letter of
	// its signature upper-cased: refused, no third silence.
	for _, h := range []http.Header{silenceSigned, slacktest.UpperHex(silenceSigned)} {
		if code := post("/slack/commands", silenceCmd, func(req *http.Request, _ []byte) { req.Header = h }); code != http.StatusUnauthorized {
			t.Errorf("replayed silence: %d, want 401", code)
		}
	}
	post("/slack/commands", command("U0KIM", "D0DM", "silences", "silences"), signed)
	eventually(t, "the list", func() bool { return len(api.Responses()) == 6 })
	post("/slack/commands", command("U0KIM", "D0DM", "unsilence 2", "unsilence"), signed)
	post("/slack/commands", command("U0STRANGER", "D0DM2", "silence kim-shop 1h", "stranger-silence"), signed)
	eventually(t, "the lift and the refusal", func() bool { return len(api.Responses()) == 8 })
	want := map[string]string{
		"silence-button":   "kim-shop/storefront silenced until",
		"silence":          "kim-shop silenced until",
		"silences":         "#1 kim-shop/storefront until",
		"unsilence":        "Silence #2 of kim-shop lifted by <@U0KIM>",
		"stranger-silence": "not registered",
	}
	for _, r := range api.Responses() {
		if w, ok := want[r.Name]; ok {
			if text := r.Body["text"].(string); !strings.Contains(strings.NewReplacer("&lt;", "<", "&gt;", ">").Replace(text), w) {
				t.Errorf("%s: %q, want %q", r.Name, text, w)
			}
			delete(want, r.Name)
		}
	}
	if len(want) != 0 {
		t.Errorf("no answer to %v", want)
	}
	for _, r := range api.Responses() {
		if text, _ := r.Body["text"].(string); r.Name == "silences" && strings.Contains(text, "#3") {
			t.Errorf("a replayed request made a silence: %q", text)
		}
	}

	// The report: a summary in the answer, the CSV uploaded where only
	// those allowed see it: the asker's DM, typed anywhere else than a
	// registered channel; the registered channel, typed there.
	post("/slack/commands", command("U0KIM", "C0GENERAL", "report 24h", "report"), signed)
	post("/slack/commands", command("U0SOMEONE", "C0123", "report 24h", "agency-report"), signed)
	eventually(t, "the report's files", func() bool { return len(api.Files("DU0KIM")) == 1 && len(api.Files("C0123")) == 1 })
	if n := len(api.Files("C0GENERAL")); n != 0 {
		t.Errorf("the report was shared in the channel it was typed in, not registered: %d files", n)
	}
	f := api.Files("DU0KIM")[0]
	rows, err := csv.NewReader(bytes.NewReader(f.Data)).ReadAll()
	if f.Name != "hostwatch-report-24h.csv" || err != nil || len(rows) != 2 || rows[1][1] != "kim-shop/storefront" {
		t.Errorf("report file %q: %q, %v", f.Name, rows, err)
	}
	var summary string
	for _, r := range api.Responses() {
		if r.Name == "report" {
			summary = r.Body["text"].(string)
		}
	}
	if !strings.Contains(summary, "Report 24h") || !strings.Contains(summary, "kim-shop/storefront") {
		t.Errorf("report summary: %q", summary)
	}
}
