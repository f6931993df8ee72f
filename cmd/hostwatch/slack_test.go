package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/notifier/slack/slacktest"
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
defaults: {schedule: "@every 1s", down_after: 1, up_after: 1, timeout: 2s}
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
