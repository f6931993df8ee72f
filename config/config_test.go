package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func noEnv(string) (string, bool) { return "", false }

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	cfg, err := Load("../examples/hostwatch.yaml")
	if err != nil {
		t.Fatalf("the shipped example must be valid:\n%v", err)
	}
	if cfg.Telegram != nil || cfg.Slack != nil {
		t.Error("the example must run without any chat account")
	}
	var selfCheck bool
	for _, c := range cfg.Checks() {
		if c.HTTP != nil && strings.Contains(c.HTTP.URL, cfg.HTTP.Listen+"/healthz") {
			selfCheck = true
		}
	}
	if !selfCheck {
		t.Error("the example must check the daemon's own /healthz")
	}
}

func TestThreeMistakesReportedWithTheirLines(t *testing.T) {
	_, err := Load("testdata/three-mistakes.yaml")
	es, ok := AsErrors(err)
	if !ok {
		t.Fatalf("want config errors, got %v", err)
	}
	want := []string{
		`testdata/three-mistakes.yaml:9: merchants[0].contacts[1]: no contact is named "lee"`,
		`testdata/three-mistakes.yaml:14: merchants[0].checks[1].http.url: must be an absolute http or https URL`,
		`testdata/three-mistakes.yaml:15: merchants[0].checks[1].schedule: bad cron schedule "every minute"`,
	}
	if len(es) != len(want) {
		t.Fatalf("want %d errors, got %d:\n%v", len(want), len(es), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(es[i].Error(), w) {
			t.Errorf("error %d:\n got %s\nwant %s...", i, es[i], w)
		}
	}
}

// TestErrors feeds one broken snippet per case and wants the message at the
// right line and path.
func TestErrors(t *testing.T) {
	const base = "contacts:\n  - name: kim\n    telegram: 1\n"
	// slaBase ends with a provider's "sla:", at line 11.
	const slaBase = "merchants:\n  - name: m\n    checks:\n      - name: c\n        tcp: {address: 'x:1'}\n        labels: {p: h}\nproviders:\n" +
		"  - name: h\n    match: {p: h}\n    outage_when: {min_down: 1}\n    sla:\n"
	tests := []struct {
		name string
		yaml string
		want string // "line: path: message" prefix
	}{
		{"unknown top-level key", "timezon: UTC\n", `1: timezon: unknown key (did you mean "timezone"?)`},
		{"unknown nested key", "http:\n  lisen: :8080\n", `2: http.lisen: unknown key (did you mean "listen"?)`},
		{"unknown check key", base + "merchants:\n  - name: m\n    checks:\n      - name: c\n        http: {url: 'http://x/', stauts: [200]}\n",
			`8: merchants[0].checks[0].http.stauts: unknown key (did you mean "status"?)`},
		{"bad time zone", "timezone: Mars/Olympus\n", `1: timezone: unknown time zone "Mars/Olympus"`},
		{"bad driver", "storage: {driver: mysql}\n", `1: storage.driver: must be sqlite or postgres, not "mysql"`},
		{"postgres needs a URL", "storage: {driver: postgres, dsn: 'host=x'}\n", `1: storage.dsn: must be a postgres:// URL`},
		{"bad listen", "http: {listen: localhost}\n", `1: http.listen: must be host:port`},
		{"bad duration", "defaults:\n  timeout: 10 seconds\n", `2: defaults.timeout: must be a duration such as 30s or 5m, not "10 seconds"`},
		{"zero down_after", "defaults:\n  down_after: 0\n", `2: defaults.down_after: must be at least 1`},
		{"not a number", "defaults:\n  up_after: two\n", `2: defaults.up_after: must be a whole number, not "two"`},
		{"sub-second every", "defaults:\n  schedule: '@every 500ms'\n", `2: defaults.schedule: @every needs a whole number of seconds`},
		{"bad cron", "defaults:\n  schedule: '61 * * * *'\n", `2: defaults.schedule: bad cron schedule`},
		{"unknown default policy", "defaults:\n  policy: gentle\n", `2: defaults.policy: no policy is named "gentle"`},
		{"duplicate contact", base + "  - name: kim\n    telegram: 2\n", `4: contacts[1].name: another contact is named "kim"`},
		{"contact without destination", "contacts:\n  - name: kim\n", `2: contacts[0]: needs at least one of telegram, slack, webhook`},
		{"reserved contact", "contacts:\n  - name: owner\n    telegram: 1\n", `2: contacts[0].name: "owner" is reserved`},
		{"bad slack id", "contacts:\n  - name: kim\n    slack: '#general'\n", `3: contacts[0].slack: must be a Slack channel id`},
		{"bad webhook", "contacts:\n  - name: kim\n    webhook: hooks.example.com\n", `3: contacts[0].webhook: must be an absolute http or https URL`},
		{"unknown admin", base + "admins: [kim, lee]\n", `4: admins[1]: no contact is named "lee"`},
		{"policy step to nobody", base + "policies:\n  - name: p\n    steps:\n      - notify: [lee]\n",
			`7: policies[0].steps[0].notify[0]: no contact is named "lee" (or use owner, admins)`},
		{"policy steps out of order", base + "policies:\n  - name: p\n    steps:\n      - after: 10m\n        notify: [owner]\n      - after: 5m\n        notify: [kim]\n",
			`9: policies[0].steps[1].after: must not be earlier than the step before it (10m0s)`},
		{"telegram token unset", "telegram:\n  token: ${TG_TOKEN}\n", `2: telegram.token: is empty: ${TG_TOKEN} is not set in the environment`},
		{"telegram endpoint", "telegram:\n  token: t\n  api_endpoint: http://x/bot\n", `3: telegram.api_endpoint: must hold two %s`},
		{"telegram webhook without secret", "telegram:\n  token: t\n  updates: webhook\n", `1: telegram.webhook_secret: is required`},
		{"telegram webhook without url", "telegram:\n  token: t\n  updates: webhook\n  webhook_secret: s\n", `1: telegram.webhook_url: is required`},
		{"slack without signing secret", "slack:\n  token: xoxb-1\n", `1: slack.signing_secret: is required`},
		{"slack app token", "slack:\n  token: xoxb-1\n  app_token: xoxb-2\n", `3: slack.app_token: must be an app-level token (xapp-...)`},
		{"duplicate merchant", base + "merchants:\n  - name: m\n  - name: m\n", `6: merchants[1].name: another merchant is named "m"`},
		{"merchant name with slash", "merchants:\n  - name: a/b\n", `2: merchants[0].name: "a/b" is not an id: an id holds only the letters a-z and A-Z, digits, '.', '_' and '-'`},
		{"merchant name in Hangul", "merchants:\n  - name: 김씨네가게\n",
			`2: merchants[0].name: "김씨네가게" is not an id: an id holds only the letters a-z and A-Z, digits, '.', '_' and '-', and starts with a letter or digit; write it in Latin letters (kim-shop) and put "김씨네가게" in display_name`},
		{"display name on two lines", "merchants:\n  - name: kim\n    display_name: \"김씨네\\n가게\"\n", `3: merchants[0].display_name: must be one line without control characters`},
		{"unknown language", "defaults:\n  language: jp\n", `2: defaults.language: must be en or ko, not "jp"`},
		{"contact language", "contacts:\n  - name: kim\n    telegram: 1\n    language: kr\n", `4: contacts[0].language: must be en or ko, not "kr"`},
		{"status page language", "http:\n  status_page:\n    language: KO\n", `3: http.status_page.language: must be en or ko, not "KO"`},
		{"heartbeat without period", "merchants:\n  - name: m\n    checks:\n      - name: c\n        heartbeat: {grace: 1m}\n",
			`5: merchants[0].checks[0].heartbeat: needs period (a ping every 1h) or schedule`},
		{"heartbeat with both", "merchants:\n  - name: m\n    checks:\n      - name: c\n        heartbeat: {period: 1h, schedule: '0 3 * * *'}\n",
			`5: merchants[0].checks[0].heartbeat.schedule: a heartbeat is due every period or at the times of a schedule, not both`},
		{"heartbeat with down_after", "merchants:\n  - name: m\n    checks:\n      - name: c\n        heartbeat: {period: 1h}\n        down_after: 2\n",
			`6: merchants[0].checks[0].down_after: does not apply to a heartbeat`},
		{"heartbeat token short", "merchants:\n  - name: m\n    checks:\n      - name: c\n        heartbeat: {period: 1h, token: abc}\n",
			`5: merchants[0].checks[0].heartbeat.token: must be 16 to 128 of A-Z a-z 0-9 - _ . ~ (it is the secret part of the ping URL)`},
		{"heartbeat token twice", "merchants:\n  - name: m\n    checks:\n      - name: c\n        heartbeat: {period: 1h, token: aaaabbbbccccdddd}\n" +
			"      - name: d\n        heartbeat: {period: 1h, token: aaaabbbbccccdddd}\n",
			`7: merchants[0].checks[1].heartbeat.token: the same token as merchants[0].checks[0].heartbeat.token: each heartbeat needs its own`},
		{"heartbeat bad schedule", "merchants:\n  - name: m\n    checks:\n      - name: c\n        heartbeat: {schedule: 'at three'}\n",
			`5: merchants[0].checks[0].heartbeat.schedule:`},
		{"source without token", "merchants:\n  - name: m\nsources:\n  - name: prom\n    kind: alertmanager\n    merchant: m\n",
			`4: sources[0].token: is needed`},
		{"source of no merchant", "merchants:\n  - name: m\nsources:\n  - name: prom\n    kind: alertmanager\n    token: t\n    merchant: x\n",
			`7: sources[0].merchant: no merchant is named "x"`},
		{"source of unknown kind", "merchants:\n  - name: m\nsources:\n  - name: prom\n    kind: nagios\n    token: t\n    merchant: m\n",
			`5: sources[0].kind: must be one of`},
		{"check without probe", "merchants:\n  - name: m\n    checks:\n      - name: c\n", `4: merchants[0].checks[0]: needs one of http, tcp, dns, tls`},
		{"check with two probes", "merchants:\n  - name: m\n    checks:\n      - name: c\n        http: {url: 'http://x/'}\n        tcp: {address: 'x:1'}\n",
			`6: merchants[0].checks[0].tcp: a check runs one probe, and this one already has http`},
		{"duplicate check", "merchants:\n  - name: m\n    checks:\n      - name: c\n        tcp: {address: 'x:1'}\n      - name: c\n        tcp: {address: 'x:1'}\n",
			`6: merchants[0].checks[1].name: m already has a check named "c"`},
		{"bad status", "merchants:\n  - name: m\n    checks:\n      - name: c\n        http:\n          url: 'http://x/'\n          status: [200, 999]\n",
			`7: merchants[0].checks[0].http.status[1]: must be an HTTP status code from 100 to 599, not 999`},
		{"bad method", "merchants:\n  - name: m\n    checks:\n      - name: c\n        http: {url: 'http://x/', method: get}\n",
			`5: merchants[0].checks[0].http.method: must be an HTTP method in capitals`},
		{"tcp without port", "merchants:\n  - name: m\n    checks:\n      - name: c\n        tcp: {address: db.example}\n",
			`5: merchants[0].checks[0].tcp.address: must be host:port`},
		{"dns type", "merchants:\n  - name: m\n    checks:\n      - name: c\n        dns: {name: x.example, type: TXT}\n",
			`5: merchants[0].checks[0].dns.type: must be A, AAAA, CNAME or MX, not "TXT"`},
		{"tls negative days", "merchants:\n  - name: m\n    checks:\n      - name: c\n        tls: {address: 'x:443', min_days_left: -1}\n",
			`5: merchants[0].checks[0].tls.min_days_left: must not be negative`},
		{"check timeout zero", "merchants:\n  - name: m\n    checks:\n      - name: c\n        tcp: {address: 'x:1'}\n        timeout: 0s\n",
			`6: merchants[0].checks[0].timeout: must be longer than zero`},
		{"provider matches nothing", "providers:\n  - name: host\n    match: {provider: host}\n    outage_when: {min_down: 1}\n",
			`3: providers[0].match: matches no check`},
		{"provider ratio", "merchants:\n  - name: m\n    checks:\n      - name: c\n        tcp: {address: 'x:1'}\n        labels: {p: h}\nproviders:\n  - name: h\n    match: {p: h}\n    outage_when: {down_ratio: 1.5}\n",
			`10: providers[0].outage_when.down_ratio: must be between 0 and 1`},
		{"sla uptime above 100", slaBase +
			"      monthly_uptime: 100.5\n      credits: [{below: 99.9, percent: 10}]\n",
			`12: providers[0].sla.monthly_uptime: must be a percentage above 0 and at most 100`},
		{"sla without tiers", slaBase +
			"      monthly_uptime: 99.9\n",
			`11: providers[0].sla.credits: needs at least one tier`},
		{"sla tiers out of order", slaBase +
			"      monthly_uptime: 99.9\n      credits:\n        - {below: 99.0, percent: 25}\n        - {below: 99.9, percent: 10}\n",
			`15: providers[0].sla.credits[1].below: must be lower than the tier before it (99)`},
		{"sla equal tiers", slaBase +
			"      monthly_uptime: 99.9\n      credits:\n        - {below: 99.0, percent: 25}\n        - {below: 99.0, percent: 50}\n",
			`15: providers[0].sla.credits[1].below: must be lower than the tier before it`},
		{"sla tier above the promise", slaBase +
			"      monthly_uptime: 99.9\n      credits:\n        - {below: 99.95, percent: 5}\n",
			`14: providers[0].sla.credits[0].below: 99.95 is above the monthly_uptime promised (99.9)`},
		{"sla percent", slaBase +
			"      monthly_uptime: 99.9\n      credits:\n        - {below: 99.9, percent: 110}\n",
			`14: providers[0].sla.credits[0].percent: must be from 0 to 100, not 110`},
		{"sla negative fee", slaBase +
			"      monthly_uptime: 99.9\n      credits: [{below: 99.9, percent: 10}]\n      monthly_fee: -1\n      currency: KRW\n",
			`14: providers[0].sla.monthly_fee: must not be negative`},
		{"sla fee without currency", slaBase +
			"      monthly_uptime: 99.9\n      credits: [{below: 99.9, percent: 10}]\n      monthly_fee: 55000\n",
			`11: providers[0].sla.currency: is required with monthly_fee`},
		{"sla measure", slaBase +
			"      monthly_uptime: 99.9\n      credits: [{below: 99.9, percent: 10}]\n      measure: most\n",
			`14: providers[0].sla.measure: must be any (down when any of the checks is) or all (down only when all are), not "most"`},
		{"sla unknown check", slaBase +
			"      monthly_uptime: 99.9\n      credits: [{below: 99.9, percent: 10}]\n      checks: [c, m/nope]\n",
			`14: providers[0].sla.checks[1]: "m/nope" is no check of this file`},
		{"sla unknown key", slaBase +
			"      monthly_uptime: 99.9\n      credits: [{below: 99.9, percent: 10}]\n      monthly_fees: 1\n",
			`14: providers[0].sla.monthly_fees: unknown key (did you mean "monthly_fee"?)`},
		{"maintenance target", "maintenance:\n  - name: w\n    schedule: '0 3 * * SUN'\n    duration: 1h\n    targets: [nobody/db]\n",
			`5: maintenance[0].targets[0]: "nobody/db" is no merchant, merchant/check or provider:NAME`},
		{"silence until", "merchants:\n  - name: m\nsilences:\n  - target: m\n    until: tomorrow\n",
			`5: silences[0].until: "tomorrow" is no time`},
		{"silence target", "silences:\n  - target: provider:nobody\n    until: 2026-12-01 09:00\n",
			`2: silences[0].target: "provider:nobody" is no merchant`},
		{"flapping changes", "defaults:\n  flapping: {changes: -1}\n", `2: defaults.flapping.changes: must not be negative`},
		{"fresh_connection on a tcp check", "merchants:\n  - name: m\n    checks:\n      - name: c\n        tcp: {address: 'x:1', fresh_connection: true}\n",
			`5: merchants[0].checks[0].tcp.fresh_connection: unknown key: fresh_connection belongs in a check's http block or in defaults`},
		{"fresh_connection beside the probe", "merchants:\n  - name: m\n    checks:\n      - name: c\n        http: {url: 'http://x/'}\n        fresh_connection: true\n",
			`6: merchants[0].checks[0].fresh_connection: unknown key: fresh_connection belongs in a check's http block`},
		{"fresh_connection in the daemon's http", "http:\n  fresh_connection: true\n", `2: http.fresh_connection: unknown key: fresh_connection belongs in a check's http block`},
		{"fresh_connection not a bool", "defaults:\n  fresh_connection: often\n", `2: defaults.fresh_connection: must be true or false, not "often"`},
		{"repeat without after", "policies:\n  - name: p\n    steps:\n      - notify: [owner]\n    repeat: 2\n",
			`5: policies[0].repeat: needs a step with an after`},
		{"duplicate key", "timezone: UTC\ntimezone: UTC\n", `2: timezone: is set twice (first on line 1)`},
		{"list where a mapping belongs", "http: [a]\n", `1: http: must be a mapping of keys to values`},
		{"yaml syntax", "http:\n  listen: [\n", `2: did not find expected node content`},
		{"empty file", "", `1: the file is empty`},
		{"bad rate", "delivery:\n  telegram: {global: fast}\n", `2: delivery.telegram.global: must be a rate such as 30/s, 20/m or 100/h, not "fast"`},
		{"zero rate", "delivery:\n  webhook: {destination: 0/s}\n", `2: delivery.webhook.destination: must be a rate`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.yaml), noEnv)
			if err == nil {
				t.Fatal("want an error, got none")
			}
			want := "f.yaml:" + tt.want
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.HasPrefix(line, want) {
					return
				}
			}
			t.Errorf("want a line starting\n  %s\ngot\n  %s", want, strings.ReplaceAll(err.Error(), "\n", "\n  "))
		})
	}
}

func TestDefaultsAndExpansion(t *testing.T) {
	const doc = `
telegram:
  token: ${TG}
contacts:
  - name: kim
    telegram: 111
merchants:
  - name: shop
    contacts: [kim]
    checks:
      - name: web
        http: {url: "https://${HOST}/"}
      - name: db
        tcp: {address: "db:5432"}
        schedule: "*/10 * * * * *"
        timeout: 2s
        down_after: 1
        up_after: 5
`
	cfg, err := Parse("f.yaml", []byte(doc), env(map[string]string{"TG": "123:abc", "HOST": "shop.example"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Telegram.Token.Value(); got != "123:abc" {
		t.Errorf("token = %q", got)
	}
	if got := cfg.Telegram.APIEndpoint; got != DefaultTelegramAPI {
		t.Errorf("api_endpoint default = %q", got)
	}
	web, db := cfg.Merchants[0].Checks[0], cfg.Merchants[0].Checks[1]
	if web.ID != "shop/web" || web.HTTP.URL != "https://shop.example/" || web.HTTP.Method != "GET" || *web.HTTP.MaxRedirects != 10 {
		t.Errorf("web = %+v %+v", web, web.HTTP)
	}
	if web.Schedule != DefaultSchedule || web.Timeout.Duration != DefaultTimeout || web.DownAfter != 3 || web.UpAfter != 2 {
		t.Errorf("web did not inherit the defaults: %+v", web)
	}
	if _, ok := web.Cron.(cron.ConstantDelaySchedule); !ok {
		t.Errorf("web schedule = %T", web.Cron)
	}
	if db.Timeout.Duration != 2*time.Second || db.DownAfter != 1 || db.UpAfter != 5 {
		t.Errorf("db lost its own values: %+v", db)
	}
	if cfg.Merchants[0].Policy != DefaultPolicy || cfg.Storage.Driver != "sqlite" || cfg.Storage.DSN.Value() != DefaultSQLiteDSN {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	// Every ten seconds, with the optional seconds field.
	from := time.Date(2026, 1, 1, 0, 0, 3, 0, time.UTC)
	if next := db.Cron.Next(from); !next.Equal(from.Add(7 * time.Second)) {
		t.Errorf("db next run = %v", next)
	}
}

// TestFreshConnection: fresh_connection is taken in a check's http block
// and in defaults, and a check's own value wins over the default.
func TestFreshConnection(t *testing.T) {
	tests := []struct {
		name     string
		defaults string // the defaults section's line, if any
		http     string // what the check's http block adds
		want     bool
	}{
		{"off unless asked", "", "", false},
		{"on for the check", "", ", fresh_connection: true", true},
		{"on from defaults", "defaults: {fresh_connection: true}\n", "", true},
		{"the check's off wins over defaults", "defaults: {fresh_connection: true}\n", ", fresh_connection: false", false},
		{"the check's on wins over defaults", "defaults: {fresh_connection: false}\n", ", fresh_connection: true", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.defaults + "merchants:\n  - name: m\n    checks:\n      - name: web\n        http: {url: 'https://shop.example/'" + tt.http + "}\n" +
				"      - name: db\n        tcp: {address: 'db:5432'}\n"
			cfg, err := Parse("f.yaml", []byte(doc), noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Merchants[0].Checks[0].HTTP.FreshConnection; got != tt.want {
				t.Errorf("fresh_connection = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestScheduleUsesTimezone(t *testing.T) {
	const doc = `
timezone: Asia/Seoul
maintenance: []
merchants:
  - name: shop
    checks:
      - name: cert
        tls: {address: "shop.example:443"}
        schedule: "0 0 9 * * *"
`
	cfg, err := Parse("f.yaml", []byte(doc), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	next := cfg.Checks()[0].Cron.Next(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	// 09:00 in Seoul is 00:00 UTC the next day.
	if want := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC); !next.Equal(want) {
		t.Errorf("next = %v, want %v", next.UTC(), want)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	s := Secret("xoxb-very-secret")
	for _, got := range []string{s.String(), s.GoString(), s.LogValue().String()} {
		if strings.Contains(got, "very-secret") {
			t.Errorf("secret leaked: %q", got)
		}
	}
	b, _ := s.MarshalText()
	if strings.Contains(string(b), "very-secret") {
		t.Errorf("secret leaked by MarshalText: %q", b)
	}
	// A config error about a secret's field never shows the value.
	_, err := Parse("f.yaml", []byte("slack:\n  token: xoxb-very-secret\n  app_token: xoxb-very-secret\n"), noEnv)
	if err == nil || strings.Contains(err.Error(), "very-secret") {
		t.Errorf("error = %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/nope.yaml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"../examples/hostwatch.yaml", "testdata/three-mistakes.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("merchants:\n  - name: m\n    checks:\n      - {name: c, http: {url: 'http://x/'}}\n"))
	f.Add([]byte("a: &x [1]\nb: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data, noEnv)
		if err == nil && cfg == nil {
			t.Fatal("no config and no error")
		}
		if err != nil {
			if _, ok := AsErrors(err); !ok {
				t.Fatalf("error is not config.Errors: %v", err)
			}
		}
	})
}

func TestEnvironment(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want string // an error line's start, or "" for no error
	}{
		{"a number from the environment", "contacts:\n  - name: ops\n    telegram: ${CHAT}\n", map[string]string{"CHAT": "-1001234567890"}, ""},
		{"quoted stays text", "contacts:\n  - name: ops\n    slack: \"${CH}\"\n", map[string]string{"CH": "C0123"}, ""},
		{"unset in an optional field", "merchants:\n  - name: m\n    checks:\n      - name: c\n        http: {url: 'https://x/?token=${T}'}\n", nil,
			"5: merchants[0].checks[0].http.url: ${T} is not set in the environment"},
		{"unset optional secret means not used", "slack:\n  token: xoxb-1\n  signing_secret: s\n  app_token: ${SLACK_APP_TOKEN}\n", nil, ""},
		{"a token in the wrong place is not shown", "contacts:\n  - name: ops\n    slack: ${SLACK_BOT_TOKEN}\n", map[string]string{"SLACK_BOT_TOKEN": "xoxb-123-secret"},
			"3: contacts[0].slack: must be a Slack channel id (C...) or user id (U...), not \"${SLACK_BOT_TOKEN}\""},
		{"a token where a number belongs is not shown", "contacts:\n  - name: ops\n    telegram: ${TELEGRAM_BOT_TOKEN}\n", map[string]string{"TELEGRAM_BOT_TOKEN": "123:AAsecret"},
			"3: contacts[0].telegram: must be a whole number, not \"${TELEGRAM_BOT_TOKEN}\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.yaml), env(tt.env))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), "f.yaml:"+tt.want)):
				t.Fatalf("want %q, got %v", tt.want, err)
			}
			for _, v := range tt.env {
				if err != nil && strings.Contains(err.Error(), v) {
					t.Errorf("the value of an environment variable was printed: %v", err)
				}
			}
		})
	}
}

func TestScheduleThatNeverFires(t *testing.T) {
	_, err := Parse("f.yaml", []byte("defaults:\n  schedule: '0 0 0 30 2 *'\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), `f.yaml:2: defaults.schedule: cron schedule "0 0 0 30 2 *" never fires`) {
		t.Errorf("err = %v", err)
	}
}

func TestDNSServerAddress(t *testing.T) {
	for _, server := range []string{"[::1]", "::1", "9.9.9.9", "9.9.9.9:5353"} {
		cfg, err := Parse("f.yaml", []byte("merchants:\n  - name: m\n    checks:\n      - {name: d, dns: {name: x.example, server: '"+server+"'}}\n"), noEnv)
		if err != nil {
			t.Errorf("%s: %v", server, err)
			continue
		}
		if got := cfg.Checks()[0].DNS.Server; !strings.HasSuffix(got, ":53") && !strings.HasSuffix(got, ":5353") {
			t.Errorf("%s became %s", server, got)
		}
	}
}

func TestPolicyPeriod(t *testing.T) {
	step := func(after time.Duration) Step { return Step{After: Duration{after}, Notify: []string{"owner"}} }
	tests := []struct {
		steps []Step
		want  time.Duration
	}{
		{[]Step{step(0)}, 0},
		{[]Step{step(5 * time.Minute)}, 10 * time.Minute},
		{[]Step{step(0), step(5 * time.Minute)}, 10 * time.Minute},
		{[]Step{step(0), step(5 * time.Minute), step(15 * time.Minute)}, 25 * time.Minute},
	}
	for _, tt := range tests {
		if got := (Policy{Steps: tt.steps}).Period(); got != tt.want {
			t.Errorf("%v: period %s, want %s", tt.steps, got, tt.want)
		}
	}
}

func TestMaintenanceWindow(t *testing.T) {
	cfg, err := Parse("f.yaml", []byte(`timezone: Asia/Seoul
merchants:
  - name: kim-shop
    checks:
      - name: db
        tcp: {address: "db.example:3306"}
maintenance:
  - name: weekly-db
    schedule: "0 0 3 * * SUN"
    duration: 1h
    targets: [kim-shop/db]
silences:
  - target: kim-shop
    until: 2026-12-01 09:00
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	seoul := cfg.Location
	m := &cfg.Maintenance[0]
	sunday3 := time.Date(2026, 11, 29, 3, 0, 0, 0, seoul)
	tests := []struct {
		at     time.Time
		inside bool
	}{
		{sunday3.Add(-time.Second), false},
		{sunday3, true},
		{sunday3.Add(59 * time.Minute), true},
		{sunday3.Add(time.Hour), false},
		{sunday3.Add(-7 * 24 * time.Hour).Add(30 * time.Minute), true},
	}
	for _, tt := range tests {
		start, end, ok := m.Window(tt.at)
		if ok != tt.inside {
			t.Errorf("%s: inside %v, want %v", tt.at, ok, tt.inside)
		}
		if ok && (end.Sub(start) != time.Hour || start.Hour() != 3) {
			t.Errorf("%s: window %s–%s", tt.at, start, end)
		}
	}
	if want := time.Date(2026, 12, 1, 9, 0, 0, 0, seoul); !cfg.Silences[0].End.Equal(want) {
		t.Errorf("silence ends %s, want %s", cfg.Silences[0].End, want)
	}
}

// TestSecretsPerCommand: the daemon needs every secret; a command that
// talks to no chat app needs only those it names, and the file says which
// variables the daemon will read.
func TestSecretsPerCommand(t *testing.T) {
	doc := []byte(`storage: {driver: postgres, dsn: "postgres://hw:${PGPASSWORD}@db/hw"}
telegram: {token: "${TG_TOKEN}"}
contacts: [{name: kim, telegram: 111}]
merchants: [{name: a, contacts: [kim], checks: [{name: web, tcp: {address: "a.example:443"}}]}]
`)
	only := func(set ...string) func(string) (string, bool) {
		return func(name string) (string, bool) {
			if slices.Contains(set, name) {
				return "x", true
			}
			return "", false
		}
	}
	for _, tt := range []struct {
		name string
		o    Options
		env  []string
		want string // the error, "" for none
	}{
		{"run, all set", Options{}, []string{"PGPASSWORD", "TG_TOKEN"}, ""},
		{"run, no token", Options{}, []string{"PGPASSWORD"}, "telegram.token: is empty: ${TG_TOKEN} is not set"},
		{"report, no token", Options{Offline: true, Uses: []string{"storage.dsn"}}, []string{"PGPASSWORD"}, ""},
		{"report, no password", Options{Offline: true, Uses: []string{"storage.dsn"}}, []string{"TG_TOKEN"}, "storage.dsn: ${PGPASSWORD} is not set"},
		{"check, nothing set", Options{Offline: true}, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Lookup = only(tt.env...)
			cfg, err := parse("f.yaml", doc, tt.o)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				want := []EnvRef{{"PGPASSWORD", "storage.dsn", slices.Contains(tt.env, "PGPASSWORD")}, {"TG_TOKEN", "telegram.token", slices.Contains(tt.env, "TG_TOKEN")}}
				if !slices.Equal(cfg.Env, want) {
					t.Errorf("Env = %+v, want %+v", cfg.Env, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestPathsBesideTheFile: a relative SQLite file and templates directory
// are the file's neighbours, wherever the command runs.
func TestPathsBesideTheFile(t *testing.T) {
	for _, tt := range []struct{ file, dsn, want string }{
		{"/etc/hostwatch/shops.yaml", "shops.db", "/etc/hostwatch/shops.db"},
		{"/etc/hostwatch/shops.yaml", "/var/lib/hostwatch/h.db", "/var/lib/hostwatch/h.db"},
		{"conf/h.yaml", "data/h.db", "conf/data/h.db"},
		{"h.yaml", "h.db", "h.db"},
		{"/etc/h.yaml", "file:h.db?mode=ro", "file:h.db?mode=ro"},
	} {
		cfg, err := Parse(tt.file, []byte(fmt.Sprintf("storage: {dsn: %q}\nmerchants: [{name: a, checks: [{name: web, tcp: {address: \"a.example:443\"}}]}]\n", tt.dsn)), noEnv)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Storage.DSN.Value(); got != tt.want {
			t.Errorf("%s with dsn %s: %s, want %s", tt.file, tt.dsn, got, tt.want)
		}
	}
}

// TestSyntaxSlips: a tab and an unquoted @ or * are told on their own
// lines with the fix, and the rest of the file is still checked.
func TestSyntaxSlips(t *testing.T) {
	doc := "timezone: UTC\nmerchants:\n  - name: kim-shop\n    checks:\n      - name: web\n\thttp: {url: \"https://kim.example/\"}\n" +
		"        schedule: @every 30s\n      - name: cron\n        tcp: {address: \"kim.example:443\"}\n        schedule: */5 * * * *\n" +
		"        shedule: \"@every 1m\"\n"
	_, err := Parse("f.yaml", []byte(doc), noEnv)
	want := []string{
		`f.yaml:6: a tab in the indentation: YAML indents with spaces only`,
		`f.yaml:7: a value starting with @ must be quoted: schedule: "@every 30s"`,
		`f.yaml:10: a value starting with * must be quoted (an unquoted * refers to an anchor): schedule: "*/5 * * * *"`,
		`f.yaml:11: merchants[0].checks[1].shedule: unknown key (did you mean "schedule"?)`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("got:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	// What is not one of those slips is told as YAML tells it.
	if _, err := Parse("f.yaml", []byte("a: [1, 2\n"), noEnv); err == nil || err.Error() != "f.yaml:1: did not find expected ',' or ']'" {
		t.Errorf("an unclosed list: %v", err)
	}
}

// TestWarnings: what validates but will not do what its author expects.
func TestWarnings(t *testing.T) {
	doc := `timezone: UTC
contacts:
  - {name: kim, telegram: 111}
  - {name: hook, webhook: "https://hooks.example/x"}
merchants:
  - name: kim-shop
    contacts: [kim]
    checks:
      - {name: web, http: {url: "https://kim.example"}}
      - {name: cert, tls: {address: "kim.example:443"}, schedule: "@every 30m", down_after: 3}
  - name: lee-shop
    contacts: [hook]
    checks:
      - {name: web, http: {url: "https://KIM.example/"}, down_after: 2, schedule: "@every 30m"}
  - name: park-shop
    checks:
      - {name: web, tcp: {address: "park.example:443"}}
`
	cfg, err := Parse("f.yaml", []byte(doc), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"f.yaml:7: warning: merchants[0].contacts: no contact of kim-shop has an address on a configured app (kim has a telegram chat, and there is no telegram section): its alerts go only to standard output",
		"f.yaml:10: warning: merchants[0].checks[1]: an outage of kim-shop/cert is confirmed only after down_after 3 × 30m00s = 1h30m: its alerts come that late",
		"f.yaml:14: warning: merchants[1].checks[0].http.url: lee-shop/web probes the same URL as kim-shop/web",
		"f.yaml:15: warning: merchants[2]: park-shop has no contacts: its alerts go only to standard output",
	}
	if got := cfg.Warnings.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// TestProtectedMetricsNeedTheirToken: /metrics is never served open when
// protect asks for a token whose variable is unset.
func TestProtectedMetricsNeedTheirToken(t *testing.T) {
	doc := []byte(`http: {admin_token: "${ADMIN}", metrics: {protect: true}}
merchants: [{name: a, checks: [{name: web, tcp: {address: "a.example:443"}}]}]
`)
	if _, err := parse("f.yaml", doc, Options{Lookup: noEnv}); err == nil || !strings.Contains(err.Error(), "http.admin_token: is empty: ${ADMIN} is not set") {
		t.Errorf("run: %v", err)
	}
	if _, err := parse("f.yaml", doc, Options{Lookup: noEnv, Offline: true}); err != nil {
		t.Errorf("validate: %v", err)
	}
	if _, err := Parse("f.yaml", []byte("http: {metrics: {protect: true}}\nmerchants: [{name: a, checks: [{name: web, tcp: {address: \"a.example:443\"}}]}]\n"), noEnv); err == nil ||
		!strings.Contains(err.Error(), "http.metrics.protect: needs http.admin_token") {
		t.Errorf("no token: %v", err)
	}
}

// TestSlipsLeaveYAMLAlone: in a file that fails for another reason, what
// YAML allows is not called a slip, a comment is not taken into a value,
// and a secret's value is not repeated.
func TestSlipsLeaveYAMLAlone(t *testing.T) {
	doc := "defaults: &d {schedule: \"@every 10s\"}\nother: *d\nnote: |\n  a\ttab inside a block\n" +
		"schedule: @every 10s # every ten seconds\nadmin_token: *Xy9secret\nbroken: [1, 2\n"
	slips, _ := findSlips("f.yaml", []byte(doc))
	want := []string{
		`f.yaml:5: a value starting with @ must be quoted: schedule: "@every 10s"`,
		`f.yaml:6: a value starting with * must be quoted (an unquoted * refers to an anchor): admin_token: "..."`,
	}
	if got := slips.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// TestSLA: an SLA's defaults, and the checks it covers per merchant: the
// provider's own unless it names some, by name in every merchant or by id.
func TestSLA(t *testing.T) {
	const head = `merchants:
  - name: kim
    checks:
      - {name: web, tcp: {address: 'x:1'}, labels: {host: cafe}}
      - {name: db, tcp: {address: 'x:2'}, labels: {host: cafe}}
      - {name: cdn, tcp: {address: 'x:3'}}
  - name: lee
    checks:
      - {name: web, tcp: {address: 'y:1'}, labels: {host: cafe}}
providers:
  - name: cafe
    match: {host: cafe}
    outage_when: {min_down: 1}
    sla:
      monthly_uptime: 99.9
      credits: [{below: 99.9, percent: 10}, {below: 99.0, percent: 25}]
      monthly_fee: 55000
      currency: KRW
`
	ids := func(cs []*Check) (out []string) {
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	tests := []struct {
		name, extra string
		merchant    string
		want        []string
		measure     string
		exclude     bool
	}{
		{"the provider's checks", "", "kim", []string{"kim/web", "kim/db"}, "any", true},
		{"of the other merchant", "", "lee", []string{"lee/web"}, "any", true},
		{"named checks", "      checks: [web, kim/cdn]\n      measure: all\n      exclude_maintenance: false\n", "kim", []string{"kim/web", "kim/cdn"}, "all", false},
		{"a name in every merchant", "      checks: [web, kim/cdn]\n", "lee", []string{"lee/web"}, "any", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("f.yaml", []byte(head+tt.extra), noEnv)
			if err != nil {
				t.Fatal(err)
			}
			p := cfg.Provider("cafe")
			if got := ids(cfg.SLAChecks(p, tt.merchant)); !slices.Equal(got, tt.want) {
				t.Errorf("checks = %v, want %v", got, tt.want)
			}
			if p.SLA.Measure != tt.measure || p.SLA.ExcludesMaintenance() != tt.exclude {
				t.Errorf("measure %q, exclude_maintenance %v", p.SLA.Measure, p.SLA.ExcludesMaintenance())
			}
		})
	}
	if cfg, _ := Parse("f.yaml", []byte(head), noEnv); cfg.Provider("nobody") != nil {
		t.Error("found a provider that is not there")
	}
}

// TestRetryInterval: retry_interval is inherited from defaults like
// down_after, refused when not positive or on a heartbeat, and a warning
// when it is not shorter than the schedule's interval, where it would
// retry nothing sooner.
func TestRetryInterval(t *testing.T) {
	const head = "contacts: [{name: hook, webhook: 'https://hooks.example/x'}]\ndefaults: {schedule: '@every 60s', retry_interval: 5s}\n" +
		"merchants:\n  - name: m\n    contacts: [hook]\n    checks:\n"
	tests := []struct {
		name    string
		checks  string
		want    []time.Duration // each check's retry_interval, when valid
		err     string          // "line: path: message" prefix
		warning string
	}{
		{"inherited, set, and none for a heartbeat",
			"      - {name: a, tcp: {address: 'x:1'}}\n      - {name: b, tcp: {address: 'x:1'}, retry_interval: 2s}\n" +
				"      - {name: c, heartbeat: {period: 1h}}\n",
			[]time.Duration{5 * time.Second, 2 * time.Second, 0}, "", ""},
		{"zero", "      - {name: a, tcp: {address: 'x:1'}, retry_interval: 0s}\n",
			nil, `7: merchants[0].checks[0].retry_interval: must be longer than zero`, ""},
		{"negative", "      - {name: a, tcp: {address: 'x:1'}, retry_interval: -5s}\n",
			nil, `7: merchants[0].checks[0].retry_interval: must be longer than zero`, ""},
		{"on a heartbeat", "      - {name: a, heartbeat: {period: 1h}, retry_interval: 5s}\n",
			nil, `7: merchants[0].checks[0].retry_interval: does not apply to a heartbeat`, ""},
		{"not shorter than the schedule", "      - {name: a, tcp: {address: 'x:1'}, schedule: '@every 5s'}\n",
			[]time.Duration{5 * time.Second}, "",
			`f.yaml:7: warning: merchants[0].checks[0].retry_interval: retry_interval 5s is not shorter than the 5s between probes of m/a: it retries nothing sooner`},
		{"retries shorten the confirmation", "      - {name: a, tcp: {address: 'x:1'}, schedule: '@every 30m', retry_interval: 1m}\n",
			[]time.Duration{time.Minute}, "", ""},
		{"still late with retries", "      - {name: a, tcp: {address: 'x:1'}, schedule: '@every 1h', retry_interval: 10m}\n",
			[]time.Duration{10 * time.Minute}, "",
			`f.yaml:7: warning: merchants[0].checks[0]: an outage of m/a is confirmed only after 1h00m + (down_after 3 - 1) × retry_interval 10m00s = 1h20m: its alerts come that late`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("f.yaml", []byte(head+tt.checks), noEnv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), "f.yaml:"+tt.err) {
					t.Fatalf("want an error %q, got %v", tt.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range cfg.Checks() {
				if c.RetryInterval.Duration != tt.want[i] {
					t.Errorf("%s: retry_interval %v, want %v", c.ID, c.RetryInterval.Duration, tt.want[i])
				}
			}
			if got := cfg.Warnings.Error(); got != tt.warning {
				t.Errorf("warnings:\n%s\nwant:\n%s", got, tt.warning)
			}
		})
	}
	if _, err := Parse("f.yaml", []byte("defaults: {retry_interval: 0s}\n"), noEnv); err == nil ||
		!strings.Contains(err.Error(), "f.yaml:1: defaults.retry_interval: must be longer than zero") {
		t.Errorf("defaults: %v", err)
	}
}
