package notifier_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/notifier/slack"
	"github.com/hostwatch/hostwatch/notifier/telegram"
	"github.com/hostwatch/hostwatch/notifier/webhook"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func seoul(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// at is 14:02:10 on Wednesday, November 25 in Seoul.
var at = time.Date(2026, 11, 25, 5, 2, 10, 0, time.UTC)

// names are display names as a Korean merchant writes them; lee-shop has
// none, so its ids show.
var names = notifier.Names{"kim-shop": "김씨네 가게", "kim-shop/storefront": "쇼핑몰 메인", "kim-shop/db": "주문 DB"}

// kinds is one message of every kind, and of every variant a reader
// sees differently.
func kinds() []struct {
	name string
	m    notifier.Message
} {
	down3h := 3*time.Hour + 12*time.Minute + 30*time.Second
	examplehost := &notifier.ProviderOutage{Name: "examplehost", Down: 37, Of: 40, Since: at}
	return []struct {
		name string
		m    notifier.Message
	}{
		{"down", notifier.Message{Kind: notifier.Down, Alert: 3, Incident: 12, Merchant: "kim-shop", Check: "kim-shop/storefront", Start: at,
			Error: "dial tcp 203.0.113.7:443: connect:\n  connection refused", Failures: 3}},
		{"down, no display name, markup in the error", notifier.Message{Kind: notifier.Down, Alert: 4, Incident: 13, Merchant: "lee-shop",
			Check: "lee-shop/a<b>&_*[x]", Start: at, Error: "status 502, want 2xx: <html>&nbsp;`x`"}},
		{"down, part of a provider outage", notifier.Message{Kind: notifier.Down, Alert: 3, Incident: 12, Merchant: "kim-shop",
			Check: "kim-shop/storefront", Start: at, Error: "connection refused", Provider: examplehost}},
		{"acknowledged", notifier.Message{Kind: notifier.Down, Alert: 3, Incident: 12, Merchant: "kim-shop", Check: "kim-shop/storefront",
			Start: at, Error: "connection refused", AckBy: "@kim", AckAt: at.Add(3 * time.Minute)}},
		{"acknowledged in slack", notifier.Message{Kind: notifier.Down, Alert: 3, Incident: 12, Merchant: "kim-shop", Check: "kim-shop/storefront",
			Start: at, Error: "connection refused", AckBy: "<@U0KIM>", AckAt: at.Add(3 * time.Minute)}},
		{"silenced", notifier.Message{Kind: notifier.Down, Alert: 3, Incident: 12, Merchant: "kim-shop", Check: "kim-shop/storefront",
			Start: at, Error: "connection refused", Silenced: &notifier.Silenced{By: "@kim", Until: at.Add(time.Hour)}}},
		{"escalated", notifier.Message{Kind: notifier.Down, Alert: 3, Incident: 12, Merchant: "kim-shop", Check: "kim-shop/storefront",
			Start: at, Error: "connection refused", Reason: &notifier.Reason{Code: notifier.Escalated, Since: at}}},
		{"acknowledgement timed out", notifier.Message{Kind: notifier.Down, Alert: 3, Incident: 12, Merchant: "kim-shop", Check: "kim-shop/storefront",
			Start: at, Error: "connection refused", Reason: &notifier.Reason{Code: notifier.AckTimeout, By: "@kim", Since: at.Add(time.Minute), After: 30 * time.Minute}}},
		{"grouped", notifier.Message{Kind: notifier.Down, Alert: 3, Merchant: "kim-shop", Of: 5, Provider: examplehost,
			Reason: &notifier.Reason{Code: notifier.Escalated, Since: at}, Items: []notifier.Item{
				{Incident: 15, Check: "kim-shop/storefront", Start: at, Error: "status 502, want 2xx", AckBy: "@kim"},
				{Incident: 16, Check: "kim-shop/db", Start: at.Add(3 * time.Second), Error: "connection refused"},
				{Incident: 17, Check: "kim-shop/dns", Start: at, End: at.Add(4 * time.Minute)},
			}}},
		{"grouped, all back", notifier.Message{Kind: notifier.Resolved, Alert: 3, Merchant: "kim-shop", Of: 2, Items: []notifier.Item{
			{Incident: 15, Check: "kim-shop/storefront", Start: at, End: at.Add(down3h)},
			{Incident: 16, Check: "kim-shop/db", Start: at, End: at.Add(95 * time.Second)},
		}}},
		{"grouped, some back", notifier.Message{Kind: notifier.Resolved, Alert: 3, Merchant: "kim-shop", Of: 5, Items: []notifier.Item{
			{Incident: 15, Check: "kim-shop/storefront", Start: at, End: at.Add(down3h)},
			{Incident: 16, Check: "kim-shop/db", Start: at, End: at.Add(95 * time.Second)},
		}}},
		{"resolved", notifier.Message{Kind: notifier.Resolved, Alert: 3, Incident: 12, Merchant: "kim-shop", Check: "kim-shop/storefront",
			Start: at, End: at.Add(down3h)}},
		{"resolved, short", notifier.Message{Kind: notifier.Resolved, Incident: 13, Merchant: "lee-shop", Check: "lee-shop/web",
			Start: at, End: at.Add(95 * time.Second)}},
		{"resolved, across midnight", notifier.Message{Kind: notifier.Resolved, Incident: 14, Merchant: "lee-shop", Check: "lee-shop/web",
			Start: at.Add(8 * time.Hour), End: at.Add(26 * time.Hour)}},
		{"closed by hand", notifier.Message{Kind: notifier.Resolved, Incident: 12, Merchant: "kim-shop", Check: "kim-shop/storefront",
			Start: at, End: at.Add(40 * time.Minute), ResolvedBy: "@kim"}},
		{"provider down", notifier.Message{Kind: notifier.ProviderDown, Alert: 9, Provider: examplehost}},
		{"provider up", notifier.Message{Kind: notifier.ProviderUp, Alert: 9,
			Provider: &notifier.ProviderOutage{Name: "examplehost", Down: 40, Of: 40, Since: at, End: at.Add(3 * time.Hour)}}},
		{"flapping", notifier.Message{Kind: notifier.Flapping, Merchant: "kim-shop", Check: "kim-shop/storefront", Changes: 7, Window: 30 * time.Minute}},
		{"steady, up", notifier.Message{Kind: notifier.Steady, Merchant: "kim-shop", Check: "kim-shop/storefront", Since: at, End: at}},
		{"steady, down", notifier.Message{Kind: notifier.Steady, Merchant: "kim-shop", Check: "kim-shop/storefront", Incident: 12, Since: at}},
		{"delivery failed", notifier.Message{Kind: notifier.DeliveryFailed, Incident: 12, Merchant: "kim-shop", Check: "kim-shop/storefront",
			Destination: "telegram:111", Detail: "send to telegram chat 111: 403 Forbidden: bot was blocked by the user"}},
		{"chain head", notifier.Message{Kind: notifier.ChainHead, Entry: 360000,
			Hash: "6c1e92f0a4b5c6d7e8f90123456789abcdef0123456789abcdef0123456789ab", At: at}},
		{"down, seen from several locations", notifier.Message{Kind: notifier.Down, Incident: 12, Merchant: "kim-shop", Check: "kim-shop/storefront",
			Start: at, Error: "from busan: status 502, want 2xx", Failures: 4,
			Where: &notifier.Where{Down: []string{"seoul", "busan"}, Up: []string{"jeju"}, Of: 3}}},
		{"location cut off", notifier.Message{Kind: notifier.LocationCut, Location: "busan", Share: 96, Since: at, At: at}},
		{"location cut off, canaries", notifier.Message{Kind: notifier.LocationCut, Location: "local", Why: "canaries", Since: at, At: at}},
		{"location cut off, silent", notifier.Message{Kind: notifier.LocationCut, Location: "busan", Why: "silent", Since: at, At: at}},
		{"location back", notifier.Message{Kind: notifier.LocationBack, Location: "busan", Since: at, At: at.Add(7 * time.Minute)}},
	}
}

// TestGolden renders every kind of message in every language for every
// platform, and holds what was once read and approved.
func TestGolden(t *testing.T) {
	tmpl, err := locale.Load("", seoul(t))
	if err != nil {
		t.Fatal(err)
	}
	r := notifier.NewRenderer(tmpl, names, nil)
	platforms := map[string]func(m notifier.Message) string{
		"telegram": func(m notifier.Message) string {
			return telegram.Text(r, m)
		},
		"slack": func(m notifier.Message) string {
			b, err := json.MarshalIndent(slack.Blocks(r, m), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			return "fallback: " + slack.Fallback(r, m) + "\n" + string(b)
		},
		"console": r.Line,
		"webhook": func(m notifier.Message) string {
			b := webhook.Encode(r, m)
			return fmt.Sprintf("text: %s\nnote: %s\nlanguage: %s", b.Text, b.Note, b.Language)
		},
	}
	for _, lang := range locale.Langs {
		for platform, render := range platforms {
			t.Run(string(lang)+"/"+platform, func(t *testing.T) {
				var b strings.Builder
				for _, k := range kinds() {
					m := k.m
					m.Lang = lang
					fmt.Fprintf(&b, "== %s ==\n%s\n\n", k.name, render(m))
				}
				golden(t, filepath.Join("testdata", "golden", string(lang), platform+".golden"), b.String())
			})
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s changed (go test -update to accept):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestKoreanHasNoEnglish: what a Korean reader gets holds no English word
// but the ids, the names given in the config (merchants, locations), the errors the platforms and
// targets gave, and the time zone.
func TestKoreanHasNoEnglish(t *testing.T) {
	r := notifier.NewRenderer(must(locale.Load("", seoul(t))), names, nil)
	allowed := strings.NewReplacer("kim-shop", "", "lee-shop", "", "examplehost", "", "KST", "", "telegram:111", "", "@kim", "", "<@U0KIM>", "", "hostwatch verify", "", "hostwatch", "")
	for _, k := range kinds() {
		m := k.m
		m.Lang = locale.Korean
		text := r.Line(m)
		for _, s := range []string{m.Error, m.Detail, m.Check, m.Hash, m.Location} {
			text = strings.ReplaceAll(text, locale.OneLine(s), "")
		}
		if w := m.Where; w != nil {
			for _, l := range slices.Concat(w.Down, w.Up, w.Cut) {
				text = strings.ReplaceAll(text, l, "")
			}
		}
		for _, it := range m.Items {
			text = strings.ReplaceAll(text, it.Error, "")
		}
		text = allowed.Replace(text)
		for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') }) {
			if w != "dns" && w != "DB" {
				t.Errorf("%s: English %q in %q", k.name, w, r.Line(m))
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestEveryLanguageDefinesEveryTemplate: a template one language lacks
// would fall silent for its readers.
func TestEveryLanguageDefinesEveryTemplate(t *testing.T) {
	tmpl := must(locale.Load("", time.UTC))
	for _, name := range tmpl.Names() {
		for _, lang := range locale.Langs {
			if _, err := tmpl.Exec(lang, name, nil); err != nil && strings.Contains(err.Error(), "no template") {
				t.Errorf("%s does not define %s", lang, name)
			}
		}
	}
}

// TestDecodeTheFirstVersion: a message queued before payloads had a
// version is read, and its English reason shown as it was written.
func TestDecodeTheFirstVersion(t *testing.T) {
	v0 := `{"Kind":"down","Incident":12,"Merchant":"kim-shop","Check":"kim-shop/storefront","Start":"2026-11-25T05:02:10Z",` +
		`"End":"0001-01-01T00:00:00Z","Error":"connection refused","Failures":3,"ResolvedBy":"","AckBy":"@kim","AckAt":"2026-11-25T05:05:10Z",` +
		`"Alert":3,"Items":[{"Incident":15,"Check":"kim-shop/db","Start":"2026-11-25T05:02:10Z","AckBy":"@lee"}],"Of":5,` +
		`"Note":"Escalated: nobody has acknowledged since 14:02 KST."}`
	m, err := notifier.Decode([]byte(v0))
	if err != nil {
		t.Fatal(err)
	}
	if m.AckBy != "@kim" || m.Items[0].AckBy != "@lee" || m.Failures != 3 || m.Of != 5 || !m.Start.Equal(at) {
		t.Errorf("decoded %+v", m)
	}
	line := notifier.PlainRenderer(seoul(t)).Line(m)
	if !strings.Contains(line, "Escalated: nobody has acknowledged since 14:02 KST.") {
		t.Errorf("the old note is lost: %s", line)
	}
	if _, err := notifier.Decode([]byte(`{"v":99,"kind":"down"}`)); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("a newer version: %v", err)
	}
	// And this version reads back what it wrote.
	for _, k := range kinds() {
		b, err := notifier.Encode(k.m)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), `{"v":1,`) {
			t.Errorf("%s: %s", k.name, b)
		}
		back, err := notifier.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		back.V, k.m.V = 0, 0
		again, _ := notifier.Encode(back)
		if string(again) != string(b) {
			t.Errorf("%s: round trip\n%s\n%s", k.name, b, again)
		}
	}
}
