package locale

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWords(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 14, 2, 10, 0, seoul) // a Wednesday
	tests := []struct {
		name      string
		got, want string
	}{
		{"ko stamp", Korean.Stamp(at), "12월 2일 (수) 14:02:10 KST"},
		{"en stamp", English.Stamp(at), "Wed Dec 2 14:02:10 KST"},
		{"ko minute", Korean.Minute(at), "12월 2일 (수) 14:02 KST"},
		{"ko hours", Korean.Duration(3*time.Hour + 12*time.Minute + 30*time.Second), "3시간 12분"},
		{"ko whole hours", Korean.Duration(3 * time.Hour), "3시간"},
		{"ko minutes", Korean.Duration(12*time.Minute + 30*time.Second), "12분 30초"},
		{"ko seconds", Korean.Duration(45 * time.Second), "45초"},
		{"ko days", Korean.Duration(53*time.Hour + 10*time.Minute), "2일 5시간"},
		{"en hours", English.Duration(3*time.Hour + 2*time.Minute), "3h02m"},
		{"en minutes", English.Duration(12*time.Minute + 30*time.Second), "12m30s"},
		{"en days", English.Duration(53*time.Hour + 10*time.Minute), "2d5h"},
		{"en rounds", English.Duration(1499 * time.Millisecond), "1s"},
		{"negative is none", English.Duration(-time.Second), "0s"},
		{"ko exact", Korean.Exact(time.Hour + 2*time.Second), "1시간 2초"},
		{"ko exact zero", Korean.Exact(0), "0초"},
		{"en exact", English.Exact(time.Hour + 2*time.Second), "1h0m2s"},
		{"short range", English.Range(at, at.Add(95*time.Second)), "14:02:10–14:03:45"},
		{"ko range over midnight", Korean.Range(at.Add(8*time.Hour), at.Add(26*time.Hour)), "12월 2일 22:02–12월 3일 16:02"},
		{"zone without a name", Zone(time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 5*3600+1800))), "+05:30"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOverride: a template of the operator's replaces the built-in one of
// its language only, and the others stay.
func TestOverride(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "ko", "buttons.tmpl"), `{{define "button.ack"}}접수{{end}}`)
	tmpl, err := Load(dir, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		lang       Lang
		name, want string
	}{{Korean, "button.ack", "접수"}, {Korean, "button.silence", "1시간 알림 중지"}, {English, "button.ack", "Acknowledge"}} {
		if got, err := tmpl.Exec(tt.lang, tt.name, nil); err != nil || got != tt.want {
			t.Errorf("%s %s = %q, %v; want %q", tt.lang, tt.name, got, err, tt.want)
		}
	}
}

// TestOverrideErrors: what is wrong in a directory of templates is said
// with the file and the line, all at once.
func TestOverrideErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "ko", "message.tmpl"), "{{define \"title\"}}\n{{.Check}\n{{end}}")
	write(t, filepath.Join(dir, "en", "typo.tmpl"), `{{define "titel"}}x{{end}}`)
	write(t, filepath.Join(dir, "jp", "message.tmpl"), `{{define "title"}}x{{end}}`)
	_, err := Load(dir, time.UTC)
	if err == nil {
		t.Fatal("loaded")
	}
	for _, want := range []string{
		filepath.Join(dir, "ko", "message.tmpl") + ":2:",
		filepath.Join(dir, "en", "typo.tmpl") + `: "titel" is not a template hostwatch uses`,
		filepath.Join(dir, "jp") + ": not a language this hostwatch speaks (en, ko)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestFailingOverrideFallsBack: a template that parses but fails when run
// (a field that does not exist) gives way to the built-in one, and says so.
func TestFailingOverrideFallsBack(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "en", "b.tmpl"), `{{define "bot.not_mine"}}{{.Nope.Deeper}}{{end}}`)
	tmpl, err := Load(dir, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Exec(English, "bot.not_mine", 42)
	if got != "This button is not one of mine." || err == nil || !strings.Contains(err.Error(), "built-in one was used") {
		t.Errorf("got %q, %v", got, err)
	}
}
