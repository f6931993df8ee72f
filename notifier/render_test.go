package notifier

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{45 * time.Second, "45s"},
		{12*time.Minute + 30*time.Second, "12m30s"},
		{3*time.Hour + 12*time.Minute + 30*time.Second, "3h12m"},
		{3*time.Hour + 2*time.Minute, "3h02m"},
		{53*time.Hour + 10*time.Minute, "2d5h"},
		{1499 * time.Millisecond, "1s"},
	}
	for _, tt := range tests {
		if got := Duration(tt.d); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestLinesGolden(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 25, 5, 2, 10, 0, time.UTC) // 14:02:10 in Seoul
	msgs := []Message{
		{Kind: Down, Incident: 12, Merchant: "kim-shop", Check: "kim-shop/storefront", Start: start,
			Error: "dial tcp 203.0.113.7:443: connect:\n  connection refused", Failures: 3},
		{Kind: Resolved, Incident: 12, Merchant: "kim-shop", Check: "kim-shop/storefront", Start: start,
			End: start.Add(3*time.Hour + 12*time.Minute + 30*time.Second)},
		{Kind: Resolved, Incident: 13, Merchant: "kim-shop", Check: "kim-shop/db", Start: start, End: start.Add(95 * time.Second)},
		{Kind: Resolved, Incident: 14, Merchant: "lee-shop", Check: "lee-shop/web", Start: start.Add(8 * time.Hour), End: start.Add(26 * time.Hour)},
		{Kind: Down, Alert: 3, Merchant: "kim-shop", Of: 5, Note: "Escalated: nobody has acknowledged since 14:02.", Items: []Item{
			{Incident: 15, Check: "kim-shop/storefront", Start: start, Error: "status 502, want 2xx", AckBy: "@kim"},
			{Incident: 16, Check: "kim-shop/db", Start: start.Add(3 * time.Second), Error: "connection refused"},
			{Incident: 17, Check: "kim-shop/dns", Start: start, End: start.Add(4 * time.Minute)},
		}, Provider: &ProviderOutage{Name: "examplehost", Down: 37, Of: 40, Since: start}},
		{Kind: Resolved, Alert: 3, Merchant: "kim-shop", Of: 5, Items: []Item{
			{Incident: 15, Check: "kim-shop/storefront", Start: start, End: start.Add(3*time.Hour + 12*time.Minute + 30*time.Second)},
			{Incident: 16, Check: "kim-shop/db", Start: start, End: start.Add(95 * time.Second)},
		}},
		{Kind: ProviderDown, Alert: 4, Provider: &ProviderOutage{Name: "examplehost", Down: 37, Of: 40, Since: start}},
		{Kind: ProviderUp, Alert: 4, Provider: &ProviderOutage{Name: "examplehost", Down: 40, Of: 40, Since: start, End: start.Add(3 * time.Hour)}},
		{Kind: Flapping, Merchant: "kim-shop", Check: "kim-shop/web", Detail: "7 state changes within 30m00s"},
		{Kind: Steady, Merchant: "kim-shop", Check: "kim-shop/web", Detail: "no state change since 14:32", End: start},
	}
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(Line(m, seoul))
		b.WriteString("\n")
	}
	golden := filepath.Join("testdata", "lines.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("rendering changed (go test -update to accept):\n got:\n%s\nwant:\n%s", b.String(), want)
	}
}
