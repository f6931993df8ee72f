package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/notifier/telegram"
	"github.com/hostwatch/hostwatch/notifier/telegram/telegramtest"
)

// TestTelegramAlertAndRecovery runs the binary with a telegram section
// pointed at the fake Bot API: the owner's chat gets one alert with both
// buttons; pressing Acknowledge answers the press and edits the alert to say
// who; /status answers the owner, the admins, and refuses a stranger; the
// recovery edits the alert (no buttons left) and sends the downtime.
func TestTelegramAlertAndRecovery(t *testing.T) {
	const token = "424242:hostwatch-test"
	api := telegramtest.New(token)
	defer api.Close()
	shop, down := newShop(t)
	p := startTelegramDaemon(t, api, token, 2, fmt.Sprintf(`
merchants:
  - name: kim-shop
    contacts: [kim]
    checks:
      - {name: storefront, http: {url: "%s/", contains: cart}}
`, shop.URL))
	down.Store(true)
	eventually(t, "the alert", func() bool { return len(api.Messages(111)) == 1 })
	alert := api.Messages(111)[0]
	if !strings.Contains(alert.Text, "kim-shop/storefront is down</b>") || !strings.Contains(alert.Markup, "Acknowledge") || !strings.Contains(alert.Markup, "Silence 1h") {
		t.Errorf("alert = %+v", alert)
	}

	// Acknowledge from the button: the press is answered, the alert says
	// who, and its Acknowledge button is gone.
	api.Inject(telegramtest.Press(111, 7, alert.MessageID, "ack:1"))
	eventually(t, "the answer to the button", func() bool { return len(api.Calls("answerCallbackQuery")) == 1 })
	if got := api.Calls("answerCallbackQuery")[0].Params.Get("text"); !strings.Contains(got, "acknowledged by @user7") {
		t.Errorf("callback answer = %q", got)
	}
	eventually(t, "the edit", func() bool { return api.Messages(111)[0].Edits == 1 })
	acked := api.Messages(111)[0]
	if !strings.Contains(acked.Text, "Acknowledged by @user7") || strings.Contains(acked.Markup, "Acknowledge") || !strings.Contains(acked.Markup, "Silence 1h") {
		t.Errorf("after the ack: %+v", acked)
	}

	// /status: the owner sees the shop, a stranger gets the refusal with
	// the chat id, the admin group sees everything.
	api.Inject(telegramtest.Command(111, 7, "/status"))
	api.Inject(telegramtest.Command(333, 8, "/status"))
	api.Inject(telegramtest.Command(-100999, 9, "/status@hostwatch_bot"))
	eventually(t, "three answers", func() bool {
		return len(api.Messages(111)) == 2 && len(api.Messages(333)) == 1 && len(api.Messages(-100999)) == 1
	})
	if got := api.Messages(111)[1].Text; !strings.Contains(got, "kim-shop/storefront — down") {
		t.Errorf("owner's status: %q", got)
	}
	if got := api.Messages(333)[0].Text; !strings.Contains(got, "not registered") || !strings.Contains(got, "333") || strings.Contains(got, "kim-shop") {
		t.Errorf("stranger's status: %q", got)
	}
	if got := api.Messages(-100999)[0].Text; !strings.Contains(got, "kim-shop/storefront") {
		t.Errorf("admin's status: %q", got)
	}
	// A command for another bot in the group is not ours to answer.
	api.Inject(telegramtest.Command(-100999, 9, "/status@other_bot"))
	api.Inject(telegramtest.Command(-100999, 9, "/help@hostwatch_bot"))
	eventually(t, "the help", func() bool { return len(api.Messages(-100999)) >= 2 })
	time.Sleep(200 * time.Millisecond)
	if n := len(api.Messages(-100999)); n != 2 || !strings.Contains(api.Messages(-100999)[1].Text, "This chat's id is -100999") {
		t.Errorf("group answers: %+v", api.Messages(-100999))
	}

	down.Store(false)
	eventually(t, "the recovery", func() bool { return len(api.Messages(111)) == 3 })
	p.stop(t)
	msgs := api.Messages(111)
	if msgs[0].Edits != 2 || msgs[0].Markup != "" || !strings.Contains(msgs[0].Text, "resolved") {
		t.Errorf("the alert after recovery = %+v", msgs[0])
	}
	if !strings.Contains(msgs[2].Text, "kim-shop/storefront is back</b>") || !strings.Contains(msgs[2].Text, ", down ") {
		t.Errorf("recovery message = %+v", msgs[2])
	}
	if _, stderr := p.output(); strings.Contains(stderr, token) {
		t.Error("the bot token reached the log")
	}
}

// startTelegramDaemon runs the binary against the fake Bot API with two
// contacts, kim (chat 111) and the admins' group ops (-100999), checks
// probed every second and confirmed after n probes, and the rest of the
// configuration from body.
func startTelegramDaemon(t *testing.T, api *telegramtest.Server, token string, n int, body string) *proc {
	t.Helper()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
storage: {dsn: %q}
http: {listen: %q}
defaults: {schedule: "@every 1s", down_after: %d, up_after: %d, timeout: 2s, group_wait: 0s}
telegram:
  token: ${TG_TOKEN}
  api_endpoint: %q
contacts:
  - {name: kim, telegram: 111}
  - {name: ops, telegram: -100999}
admins: [ops]
`, filepath.Join(dir, "h.db"), freeAddr(t), n, n, api.Endpoint())+body)
	t.Setenv("TG_TOKEN", token)
	return startDaemon(t, dir, cfg)
}

// TestTelegramWebhook runs the binary with updates: webhook: it registers
// its URL and secret with the Bot API; an update with the right secret is
// answered, one with none or a wrong one gets 401 and does nothing.
func TestTelegramWebhook(t *testing.T) {
	const token, secret = "424242:hostwatch-test", "s3cret-token_1"
	api := telegramtest.New(token)
	defer api.Close()
	shop, _ := newShop(t)
	dir := t.TempDir()
	listen := freeAddr(t)
	hook := "http://" + listen + "/telegram/webhook"
	cfg := writeConfig(t, dir, fmt.Sprintf(`
storage: {dsn: %q}
http: {listen: %q}
telegram:
  token: ${TG_TOKEN}
  api_endpoint: %q
  updates: webhook
  webhook_secret: ${TG_SECRET}
  webhook_url: %q
contacts:
  - {name: kim, telegram: 111}
merchants:
  - name: kim-shop
    contacts: [kim]
    checks:
      - {name: storefront, http: {url: "%s/"}}
`, filepath.Join(dir, "h.db"), listen, api.Endpoint(), hook, shop.URL))
	t.Setenv("TG_TOKEN", token)
	t.Setenv("TG_SECRET", secret)
	p := startDaemon(t, dir, cfg)
	defer p.stop(t)
	eventually(t, "the webhook registration", func() bool { url, _ := api.Webhook(); return url != "" })
	if url, got := api.Webhook(); url != hook || got != secret {
		t.Errorf("registered %q with secret %q", url, got)
	}

	update, _ := json.Marshal(map[string]any{"update_id": 1, "message": telegramtest.Command(111, 7, "/status")["message"]})
	post := func(secretHeader string) int {
		req, _ := http.NewRequest(http.MethodPost, hook, bytes.NewReader(update))
		req.Header.Set("Content-Type", "application/json")
		if secretHeader != "" {
			req.Header.Set(telegram.SecretHeader, secretHeader)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, bad := range []string{"", "wrong", secret + "x"} {
		if code := post(bad); code != http.StatusUnauthorized {
			t.Errorf("secret %q: %d, want 401", bad, code)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(api.Messages(111)); n != 0 {
		t.Fatalf("a request without the secret was acted on: %d messages", n)
	}
	if code := post(secret); code != http.StatusOK {
		t.Fatalf("right secret: %d", code)
	}
	eventually(t, "the answer", func() bool { return len(api.Messages(111)) == 1 })
	if got := api.Messages(111)[0].Text; !strings.Contains(got, "kim-shop/storefront") {
		t.Errorf("answer = %q", got)
	}
}

// TestTelegramSilenceAndEscalation: a check silenced by command goes down
// without a message; lifting the silence sends the alert, with buttons on
// the alert; nobody acknowledges, so ops hears after the policy's delay;
// ops acknowledges from the button and the owner silences from the alert.
func TestTelegramSilenceAndEscalation(t *testing.T) {
	const token = "424242:hostwatch-test"
	api := telegramtest.New(token)
	defer api.Close()
	shop, down := newShop(t)
	p := startTelegramDaemon(t, api, token, 1, fmt.Sprintf(`
policies:
  - name: default
    steps:
      - notify: [owner]
      - after: 3s
        notify: [ops]
merchants:
  - name: kim-shop
    contacts: [kim]
    checks:
      - {name: db, http: {url: "%s/", contains: cart}}
`, shop.URL))
	defer p.stop(t)

	api.Inject(telegramtest.Command(111, 7, "/silence kim-shop/db 1h moving the database"))
	eventually(t, "the answer", func() bool { return len(api.Messages(111)) == 1 })
	if got := api.Messages(111)[0].Text; !strings.Contains(got, "kim-shop/db silenced until") || !strings.Contains(got, "/unsilence 1") {
		t.Errorf("silence answer: %q", got)
	}
	down.Store(true)
	time.Sleep(2500 * time.Millisecond) // down, confirmed, and held
	api.Inject(telegramtest.Command(111, 7, "/silences"))
	eventually(t, "the list", func() bool { return len(api.Messages(111)) == 2 })
	if got := api.Messages(111)[1].Text; !strings.Contains(got, "#1 kim-shop/db until") || !strings.Contains(got, "moving the database") {
		t.Errorf("silences: %q (a message was not held?)", got)
	}

	api.Inject(telegramtest.Command(111, 7, "/unsilence 1"))
	eventually(t, "the answer and the alert", func() bool { return len(api.Messages(111)) == 4 })
	var alert telegramtest.Message
	for _, m := range api.Messages(111)[2:] {
		if strings.Contains(m.Text, "kim-shop/db is down</b>") {
			alert = m
		}
	}
	if !strings.Contains(alert.Markup, "ack:g1") || !strings.Contains(alert.Markup, "silence:g1:1h0m0s") {
		t.Fatalf("the alert after the silence: %+v", alert)
	}

	eventually(t, "the escalation to ops", func() bool { return len(api.Messages(-100999)) == 1 })
	escalated := api.Messages(-100999)[0]
	if !strings.Contains(escalated.Text, "Escalated") || !strings.Contains(escalated.Markup, "ack:g1") {
		t.Errorf("escalation: %+v", escalated)
	}
	api.Inject(telegramtest.Press(-100999, 9, escalated.MessageID, "ack:g1"))
	eventually(t, "both alerts edited", func() bool {
		return api.Messages(-100999)[0].Edits == 1 && api.Messages(111)[3].Edits+api.Messages(111)[2].Edits == 1
	})
	if got := api.Messages(-100999)[0].Text; !strings.Contains(got, "Acknowledged by @user9") {
		t.Errorf("after the ack: %q", got)
	}
	api.Inject(telegramtest.Press(111, 7, alert.MessageID, "silence:g1:1h0m0s"))
	eventually(t, "two answers to buttons", func() bool { return len(api.Calls("answerCallbackQuery")) == 2 })
	if got := api.Calls("answerCallbackQuery")[1].Params.Get("text"); !strings.Contains(got, "kim-shop/db silenced until") {
		t.Errorf("silence button answer: %q", got)
	}

	// The report: a summary, and the CSV as a document.
	before := len(api.Messages(111))
	api.Inject(telegramtest.Command(111, 7, "/report 24h"))
	eventually(t, "the report", func() bool { return len(api.Messages(111)) == before+2 })
	summary, doc := api.Messages(111)[before], api.Messages(111)[before+1]
	if !strings.Contains(summary.Text, "Report 24h") || !strings.Contains(summary.Text, "kim-shop/db") {
		t.Errorf("report summary: %q", summary.Text)
	}
	rows, err := csv.NewReader(bytes.NewReader(doc.Data)).ReadAll()
	if doc.Document != "hostwatch-report-24h.csv" || err != nil || len(rows) != 2 || rows[0][0] != "incident" || rows[1][1] != "kim-shop/db" {
		t.Errorf("report document %q: %q, %v", doc.Document, rows, err)
	}
}
