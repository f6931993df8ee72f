package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/notifier/telegram/telegramtest"
)

// TestKoreanAndEnglishReaders runs the binary for one merchant with two
// contacts, kim in Korean and lee in English. The alert is queued while
// Telegram fails and kim's language is changed before the restart: it
// reaches kim in Korean. Then each reader gets the alert, the
// acknowledgement and silence edits, the recovery and the answers to
// /status, /incidents and /report in their own language.
func TestKoreanAndEnglishReaders(t *testing.T) {
	const token = "424242:hostwatch-test"
	api := telegramtest.New(token)
	defer api.Close()
	shop, down := newShop(t)
	dir := t.TempDir()
	config := func(kimLanguage string) string {
		return writeConfig(t, dir, fmt.Sprintf(`
timezone: Asia/Seoul
storage: {dsn: %q}
http: {listen: %q}
defaults: {schedule: "@every 1s", down_after: 2, up_after: 2, timeout: 2s, group_wait: 0s}
telegram:
  token: ${TG_TOKEN}
  api_endpoint: %q
contacts:
  - {name: kim, telegram: 111, language: %s}
  - {name: lee, telegram: 222}
  - {name: ops, telegram: -100999}
admins: [ops]
merchants:
  - name: kim-shop
    display_name: 김씨네 가게
    contacts: [kim, lee]
    checks:
      - {name: storefront, display_name: 쇼핑몰 메인, http: {url: "%s/", contains: cart}}
`, filepath.Join(dir, "h.db"), freeAddr(t), api.Endpoint(), kimLanguage, shop.URL))
	}
	t.Setenv("TG_TOKEN", token)

	// Telegram fails while the alert is written: it waits in the outbox.
	api.FailFor(time.Hour)
	p := startDaemon(t, dir, config("en"))
	down.Store(true)
	eventually(t, "attempts to send the alert", func() bool {
		n := 0
		for _, c := range api.Calls("sendMessage") {
			if c.Params.Get("chat_id") == "111" {
				n++
			}
		}
		return n > 0
	})
	p.stop(t)
	if len(api.Messages(111)) != 0 {
		t.Fatal("a message got through while Telegram failed")
	}

	api.FailFor(0)
	p = startDaemon(t, dir, config("ko"))
	defer p.stop(t)
	eventually(t, "the alert to both", func() bool { return len(api.Messages(111)) == 1 && len(api.Messages(222)) == 1 })
	ko, en := api.Messages(111)[0], api.Messages(222)[0]
	want(t, "Korean alert", ko.Text, "<b>김씨네 가게 / 쇼핑몰 메인 장애</b>", "장애 #1 (kim-shop/storefront)", "KST부터 접속 불가", "오류:")
	want(t, "Korean buttons", ko.Markup, `"확인"`, `"1시간 알림 중지"`)
	want(t, "English alert", en.Text, "<b>김씨네 가게 / 쇼핑몰 메인 is down</b>", "Incident #1 (kim-shop/storefront), down since", "Error:")
	want(t, "English buttons", en.Markup, `"Acknowledge"`, `"Silence 1h"`)
	noEnglish(t, ko.Text)

	// kim acknowledges: both alerts say so, each in its reader's words.
	api.Inject(telegramtest.Press(111, 7, ko.MessageID, "ack:g1"))
	eventually(t, "the edits", func() bool { return api.Messages(111)[0].Edits == 1 && api.Messages(222)[0].Edits == 1 })
	if got := api.Calls("answerCallbackQuery")[0].Params.Get("text"); !strings.Contains(got, "@user7 님이") {
		t.Errorf("kim's answer to the button: %q", got)
	}
	want(t, "Korean acknowledgement", api.Messages(111)[0].Text, "@user7 님이", "확인함")
	want(t, "English acknowledgement", api.Messages(222)[0].Text, "Acknowledged by @user7")

	// lee silences for an hour: both alerts say who and until when.
	api.Inject(telegramtest.Press(222, 8, en.MessageID, "silence:g1:1h0m0s"))
	eventually(t, "the silence edits", func() bool { return api.Messages(111)[0].Edits == 2 && api.Messages(222)[0].Edits == 2 })
	if got := api.Calls("answerCallbackQuery")[1].Params.Get("text"); !strings.Contains(got, "silenced until") {
		t.Errorf("lee's answer to the button: %q", got)
	}
	want(t, "Korean silence", api.Messages(111)[0].Text, "@user8 님이", "KST까지 알림 중지")
	want(t, "English silence", api.Messages(222)[0].Text, "Silenced by @user8 until")
	noEnglish(t, api.Messages(111)[0].Text)

	// The commands, each reader in their language.
	for _, cmd := range []string{"/status", "/incidents", "/report 24h"} {
		api.Inject(telegramtest.Command(111, 7, cmd))
		api.Inject(telegramtest.Command(222, 8, cmd))
	}
	eventually(t, "the answers", func() bool { return len(api.Messages(111)) == 5 && len(api.Messages(222)) == 5 })
	kim, lee := api.Messages(111)[1:], api.Messages(222)[1:]
	want(t, "Korean /status", kim[0].Text, "점검 1개 중 1개 장애", "김씨네 가게 / 쇼핑몰 메인 (kim-shop/storefront) — 장애")
	want(t, "English /status", lee[0].Text, "1 of 1 checks down", "김씨네 가게 / 쇼핑몰 메인 (kim-shop/storefront) — down since")
	want(t, "Korean /incidents", kim[1].Text, "#1 김씨네 가게 / 쇼핑몰 메인 (kim-shop/storefront) — 진행 중")
	want(t, "English /incidents", lee[1].Text, "#1 김씨네 가게 / 쇼핑몰 메인 (kim-shop/storefront) — open")
	want(t, "Korean /report", kim[2].Text, "24h 보고서")
	want(t, "English /report", lee[2].Text, "Report 24h")
	for _, m := range kim[:3] {
		noEnglish(t, m.Text)
	}
	if !bytes.HasPrefix(kim[3].Data, []byte("\xEF\xBB\xBF")) || bytes.HasPrefix(lee[3].Data, []byte("\xEF\xBB\xBF")) {
		t.Errorf("the Korean CSV starts %q, the English %q: only the Korean one starts with a byte-order mark",
			kim[3].Data[:min(8, len(kim[3].Data))], lee[3].Data[:min(8, len(lee[3].Data))])
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(kim[3].Data, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][0] != "장애 번호" || rows[1][1] != "kim-shop/storefront" {
		t.Errorf("the Korean CSV reads back as %q, %v", rows, err)
	}

	// Back up: the recovery, in each language.
	down.Store(false)
	eventually(t, "the recoveries", func() bool { return len(api.Messages(111)) == 6 && len(api.Messages(222)) == 6 })
	want(t, "Korean recovery", api.Messages(111)[5].Text, "<b>김씨네 가게 / 쇼핑몰 메인 복구</b>", "중단")
	want(t, "English recovery", api.Messages(222)[5].Text, "<b>김씨네 가게 / 쇼핑몰 메인 is back</b>", ", down ")
	noEnglish(t, api.Messages(111)[5].Text)
	noEnglish(t, api.Messages(111)[0].Text)
	if _, stderr := p.output(); strings.Contains(stderr, token) {
		t.Error("the bot token reached the log")
	}
	b, err := os.ReadFile(filepath.Join(dir, "hostwatch.yaml"))
	if err != nil || !strings.Contains(string(b), "language: ko") {
		t.Fatalf("the configuration was not the Korean one: %v", err)
	}

	// The CLI's report speaks defaults.language: its CSV for Korean starts
	// with a byte-order mark, and for English only when asked with -bom.
	bom := []byte("\xEF\xBB\xBF")
	koConfig := filepath.Join(dir, "ko.yaml")
	if err := os.WriteFile(koConfig, bytes.Replace(b, []byte("group_wait: 0s}"), []byte("group_wait: 0s, language: ko}"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		config string
		args   []string
		bom    bool
		header string
	}{
		{koConfig, nil, true, "장애 번호"},
		{filepath.Join(dir, "hostwatch.yaml"), nil, false, "incident"},
		{filepath.Join(dir, "hostwatch.yaml"), []string{"-bom"}, true, "incident"},
	} {
		out, stderr, code := hostwatch(t, append([]string{"report", "-config", tc.config, "-since", "1h", "-format", "csv"}, tc.args...)...)
		if code != 0 {
			t.Fatalf("report %v: exit %d: %s", tc.args, code, stderr)
		}
		if bytes.HasPrefix([]byte(out), bom) != tc.bom {
			t.Errorf("report %v with %s starts %q: byte-order mark %v expected", tc.args, filepath.Base(tc.config), out[:min(8, len(out))], tc.bom)
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, string(bom)))).ReadAll()
		if err != nil || len(rows) != 2 || rows[0][0] != tc.header || rows[1][1] != "kim-shop/storefront" {
			t.Errorf("report %v with %s reads back as %q, %v", tc.args, filepath.Base(tc.config), rows, err)
		}
	}
	out, _, _ := hostwatch(t, "report", "-config", koConfig, "-since", "1h")
	want(t, "the Korean text report", out, "김씨네 가게 / 쇼핑몰 메인")
	noEnglish(t, regexp.MustCompile(`(?m)^.*(MTTA|MTTR).*$`).ReplaceAllString(out, ""))
}

func want(t *testing.T, what, got string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(got, p) {
			t.Errorf("%s: %q lacks %q", what, got, p)
		}
	}
}

// allowedLatin is what a Korean reader may see in Latin letters: ids,
// commands, the zone, who pressed, and the error as the check gave it.
var allowedLatin = regexp.MustCompile(`<code>[^<]*</code>|"[^"]*"|kim-shop(/storefront)?|@user\d+|/[a-z]+|\bKST\b|hostwatch|CSV|\d+(h|ms)\b|</?b>|&[a-z]+;`)

// noEnglish fails when text for a Korean reader holds an English word.
func noEnglish(t *testing.T, text string) {
	t.Helper()
	rest := allowedLatin.ReplaceAllString(text, "")
	if w := regexp.MustCompile(`[A-Za-z]{2,}`).FindString(rest); w != "" {
		t.Errorf("English %q in a Korean message:\n%s", w, text)
	}
}
