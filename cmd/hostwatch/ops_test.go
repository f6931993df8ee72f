package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hostwatch/hostwatch/notifier/telegram/telegramtest"
)

// TestOneRecordFromAnyDirectory: the daemon, report and check run on one
// configuration from three different directories find one record, the
// one beside the file; only run needs the bot's token, and validate says
// so.
func TestOneRecordFromAnyDirectory(t *testing.T) {
	const token = "424242:hostwatch-test"
	api := telegramtest.New(token)
	defer api.Close()
	shop, down := newShop(t)
	home, daemonDir, elsewhere := t.TempDir(), t.TempDir(), t.TempDir()
	cfg := writeConfig(t, home, fmt.Sprintf(`
timezone: UTC
storage: {dsn: record.db}
http: {listen: %q}
defaults: {schedule: "@every 1s", down_after: 2, up_after: 2, timeout: 2s, group_wait: 0s}
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
`, freeAddr(t), api.Endpoint(), shop.URL))
	t.Setenv("TG_TOKEN", token)
	p := startDaemon(t, daemonDir, cfg)
	down.Store(true)
	eventually(t, "the alert", func() bool { return len(api.Messages(111)) == 1 })
	p.stop(t)

	noToken := []string{"TG_TOKEN"}
	out, stderr, code := hostwatchAt(t, elsewhere, noToken, "report", "-config", cfg, "-since", "1h", "-format", "csv")
	if code != 0 {
		t.Fatalf("report without the token, from elsewhere: exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][0] != "1" || rows[1][1] != "kim-shop/storefront" {
		t.Errorf("report from elsewhere: %q, %v", rows, err)
	}
	for _, dir := range []string{daemonDir, elsewhere} {
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s holds %v: a record was made beside the working directory", dir, entries)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "record.db")); err != nil {
		t.Errorf("the record is not beside the configuration: %v", err)
	}

	if out, stderr, code := hostwatchAt(t, elsewhere, noToken, "check", "-config", cfg); code != 1 || !strings.Contains(out, "kim-shop/storefront") {
		t.Errorf("check without the token: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = hostwatchAt(t, elsewhere, noToken, "validate", "-config", cfg)
	if code != 0 || !strings.Contains(out, "run needs ${TG_TOKEN} (telegram.token): not set here") {
		t.Errorf("validate without the token: exit %d\n%s%s", code, out, stderr)
	}
	if out, _, _ := hostwatchAt(t, elsewhere, nil, "validate", "-config", cfg); !strings.Contains(out, "run needs ${TG_TOKEN} (telegram.token): set") {
		t.Errorf("validate with the token:\n%s", out)
	}
	if _, stderr, code := hostwatchAt(t, elsewhere, noToken, "run", "-config", cfg); code != 1 ||
		!strings.Contains(stderr, "telegram.token: is empty: ${TG_TOKEN} is not set in the environment") {
		t.Errorf("run without the token: exit %d: %s", code, stderr)
	}
}
