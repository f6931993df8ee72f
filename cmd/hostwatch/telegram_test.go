package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hostwatch/hostwatch/notifier/telegram/telegramtest"
)

// TestTelegramAlertAndRecovery runs the binary with a telegram section
// pointed at the fake Bot API: the owner's chat gets one alert with both
// buttons; the recovery edits it (no buttons left) and sends the downtime.
func TestTelegramAlertAndRecovery(t *testing.T) {
	const token = "424242:hostwatch-test"
	api := telegramtest.New(token)
	defer api.Close()
	shop, down := newShop(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
storage: {dsn: %q}
http: {listen: %q}
defaults: {schedule: "@every 1s", down_after: 2, up_after: 2, timeout: 2s}
telegram:
  token: ${TG_TOKEN}
  api_endpoint: %q
contacts:
  - {name: kim, telegram: 111}
merchants:
  - name: kim-shop
    contacts: [kim]
    checks:
      - {name: storefront, http: {url: "%s/", contains: cart}}
`, filepath.Join(dir, "h.db"), freeAddr(t), api.Endpoint(), shop.URL))
	t.Setenv("TG_TOKEN", token)
	p := startDaemon(t, dir, cfg)
	down.Store(true)
	eventually(t, "the alert", func() bool { return len(api.Messages(111)) == 1 })
	alert := api.Messages(111)[0]
	if !strings.Contains(alert.Text, "DOWN</b> kim-shop/storefront") || !strings.Contains(alert.Markup, "Acknowledge") || !strings.Contains(alert.Markup, "Silence 1h") {
		t.Errorf("alert = %+v", alert)
	}
	down.Store(false)
	eventually(t, "the recovery", func() bool { return len(api.Messages(111)) == 2 })
	p.stop(t)
	msgs := api.Messages(111)
	if msgs[0].Edits != 1 || msgs[0].Markup != "" || !strings.Contains(msgs[0].Text, "resolved") {
		t.Errorf("the alert after recovery = %+v", msgs[0])
	}
	if !strings.Contains(msgs[1].Text, "UP</b> kim-shop/storefront") || !strings.Contains(msgs[1].Text, ", down ") {
		t.Errorf("recovery message = %+v", msgs[1])
	}
	if _, stderr := p.output(); strings.Contains(stderr, token) {
		t.Error("the bot token reached the log")
	}
}
