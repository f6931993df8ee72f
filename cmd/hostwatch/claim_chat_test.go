package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/notifier/telegram/telegramtest"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

// TestClaimInTelegram: /claim answers the caller with the claim of each of
// their merchants under a provider's sla, the Markdown attached; another
// merchant's owner gets their own, and a stranger is refused.
func TestClaimInTelegram(t *testing.T) {
	const token = "424242:hostwatch-test"
	api := telegramtest.New(token)
	defer api.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "h.db")

	// November 2025 in UTC: kim-shop/web down 2 h (one outage), lee-shop/web
	// never.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Register(ctx, []string{"kim-shop/web", "lee-shop/web"}); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 11, 15, 10, 0, 0, 0, time.UTC)
	err = st.Update(ctx, func(tx store.Tx) error {
		id, _, err := tx.OpenIncident(ctx, "kim-shop/web", start, start)
		if err != nil {
			return err
		}
		if err := tx.AddFailures(ctx, []store.Failure{{Check: "kim-shop/web", At: start, Kind: "status", Error: "status 502, want 2xx", Incident: id}}); err != nil {
			return err
		}
		return tx.ResolveIncident(ctx, id, start.Add(2*time.Hour), "recovery")
	})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	cfg := writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
storage: {dsn: %q}
http: {listen: %q}
defaults: {schedule: "@every 1h", timeout: 2s}
telegram:
  token: ${TG_TOKEN}
  api_endpoint: %q
contacts:
  - {name: kim, telegram: 111}
  - {name: lee, telegram: 222, language: ko}
merchants:
  - name: kim-shop
    contacts: [kim]
    checks:
      - {name: web, tcp: {address: "127.0.0.1:1"}, labels: {host: cloudhost}}
  - name: lee-shop
    contacts: [lee]
    checks:
      - {name: web, tcp: {address: "127.0.0.1:1"}, labels: {host: cloudhost}}
providers:
  - name: cloudhost
    match: {host: cloudhost}
    outage_when: {min_down: 2}
    sla:
      monthly_uptime: 99.9
      credits: [{below: 99.9, percent: 10}, {below: 99.0, percent: 25}]
      monthly_fee: 55000
      currency: KRW
`, db, freeAddr(t), api.Endpoint()))
	t.Setenv("TG_TOKEN", token)
	p := startDaemon(t, dir, cfg)
	defer p.stop(t)

	api.Inject(telegramtest.Command(111, 7, "/claim 2025-11"))
	api.Inject(telegramtest.Command(222, 8, "/claim 2025-11 cloudhost"))
	api.Inject(telegramtest.Command(333, 9, "/claim 2025-11"))
	eventually(t, "three answers", func() bool {
		return len(api.Messages(111)) >= 1 && len(api.Messages(222)) >= 1 && len(api.Messages(333)) >= 1
	})
	time.Sleep(500 * time.Millisecond)

	// 30 days = 2,592,000 s; 7,200 s down: floor(100000 × 2,584,800 / 2,592,000) / 1000 = 99.722%: 10%, 5,500 KRW.
	var text string
	var doc *telegramtest.Message
	kim := api.Messages(111)
	for i := range kim {
		text += kim[i].Text + "\n"
		if kim[i].Document != "" {
			doc = &kim[i]
		}
	}
	for _, want := range []string{"kim-shop on cloudhost, 2025-11: 99.722% up against 99.9% promised", "5,500 KRW"} {
		if !strings.Contains(text, want) {
			t.Errorf("kim's answer lacks %q: %+v", want, kim)
		}
	}
	if doc == nil || doc.Document != "hostwatch-claim-cloudhost-kim-shop-2025-11.md" || !strings.Contains(string(doc.Data), "5,500 KRW") ||
		strings.Contains(text+string(doc.Data), "lee-shop") {
		t.Errorf("kim's claim file = %+v", doc)
	}
	var leeText string
	for _, m := range api.Messages(222) {
		leeText += m.Text + "\n"
	}
	if !strings.Contains(leeText, "lee-shop / cloudhost, 2025-11: 가동률 100.000%") || !strings.Contains(leeText, "보상액이 없습니다") ||
		strings.Contains(leeText, "kim-shop") {
		t.Errorf("lee's answer: %s", leeText)
	}
	if got := api.Messages(333); len(got) != 1 || !strings.Contains(got[0].Text, "not registered") || strings.Contains(got[0].Text, "KRW") ||
		got[0].Document != "" {
		t.Errorf("the stranger's answer: %+v", got)
	}
}
