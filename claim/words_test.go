package claim_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/claim"
	"github.com/hostwatch/hostwatch/locale"
)

// fixtureClaim is TestTheFixtureMonth's claim with measure any.
func fixtureClaim(t *testing.T) (*claim.Claim, *time.Location) {
	t.Helper()
	loc := seoul(t)
	c, err := claim.Compute(context.Background(), fixture(t, loc), november, sla(claim.Any, true), loc, time.Date(2026, 12, 3, 9, 0, 0, 0, loc))
	if err != nil {
		t.Fatal(err)
	}
	return c, loc
}

func words(t *testing.T, lang locale.Lang, loc *time.Location) claim.Words {
	t.Helper()
	tmpl, err := locale.Load("", loc)
	if err != nil {
		t.Fatal(err)
	}
	return claim.Words{Templates: tmpl, Lang: lang, Names: locale.Names{"kim-shop": "김씨네 가게"}}
}

// TestMarkdown: the lines a reader checks first, in both languages.
func TestMarkdown(t *testing.T) {
	c, loc := fixtureClaim(t)
	tests := []struct {
		lang locale.Lang
		want []string
	}{
		{locale.English, []string{
			"# SLA credit claim: cloudhost, 김씨네 가게 (kim-shop), 2026-11\n",
			"Measured from 2026-11-01 00:00:00 to 2026-12-01 00:00:00 KST: the shop counts as down while any of its checks below is down, recorded maintenance windows left out.\n",
			"| SLA promised | 99.9% monthly uptime |\n",
			"| Measured | 99.768% (1h40m0s down in 720h0m0s; 30m0s in maintenance left out) |\n",
			"| Tier missed | below 99.9%: 10% of the monthly fee |\n",
			"| Credit owed | **5,500 KRW (10% of 55,000 KRW)** |\n",
			"| 1 | 2026-11-01 00:00:00 | 2026-11-01 00:30:00 | 30m0s | 김씨네 가게 / web (kim-shop/web) |\n",
			"| 2 | 2026-11-12 14:00:00 | 2026-11-12 15:10:00 | 1h10m0s | 김씨네 가게 / web (kim-shop/web), 김씨네 가게 / db (kim-shop/db) |\n",
			"- (2) 김씨네 가게 / db (kim-shop/db): refused ×2, first 2026-11-12 14:30:00 “connection refused”, last 2026-11-12 15:00:00 “connection refused”\n",
			"- weekly-db: 2026-11-08 03:00:00 to 2026-11-08 04:00:00 (kim-shop/db)\n",
			"| 김씨네 가게 / web (kim-shop/web) | `@every 30s` | 10s |\n",
			"The probes ran from seoul-1,",
			"hostwatch claim -provider cloudhost -merchant kim-shop -month 2026-11;",
		}},
		{locale.Korean, []string{
			"# 서비스 수준 협약 보상 청구: cloudhost, 김씨네 가게 (kim-shop), 2026-11\n",
			"| 약정 가동률 | 월 99.9% |\n",
			"| 측정 가동률 | 99.768% (720시간 중 장애 1시간 40분, 점검 작업 30분 제외) |\n",
			"| 미달 구간 | 99.9% 미만: 월 요금의 10% |\n",
			"| 보상 금액 | **5,500 KRW (55,000 KRW의 10%)** |\n",
			"| 1 | 2026-11-01 00:00:00 | 2026-11-01 00:30:00 | 30분 | 김씨네 가게 / web (kim-shop/web) |\n",
			"- (1) 김씨네 가게 / web (kim-shop/web): 시간 초과 ×2, 처음 2026-11-01 00:10:00 “no answer within 10s”",
			"| 김씨네 가게 / db (kim-shop/db) | `@every 1m` | 5초 |\n",
		}},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := words(t, tt.lang, loc).Markdown(&b, c); err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: no %q in\n%s", tt.lang, w, b.String())
			}
		}
	}
}

// TestKoreanClaimHasNoEnglish: a Korean claim holds no English word but
// the ids, the names and values of the configuration, the errors the
// probes saw, the time zone and the command to run.
func TestKoreanClaimHasNoEnglish(t *testing.T) {
	c, loc := fixtureClaim(t)
	var b bytes.Buffer
	if err := words(t, locale.Korean, loc).Markdown(&b, c); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	var errs []string
	for _, o := range c.Outages {
		for _, e := range o.Errors {
			errs = append(errs, e.FirstError, e.LastError)
		}
	}
	// The longest first: one error's text may start another's.
	slices.SortFunc(errs, func(a, b string) int { return len(b) - len(a) })
	for _, e := range errs {
		text = strings.ReplaceAll(text, e, "")
	}
	text = strings.NewReplacer("hostwatch claim -provider cloudhost -merchant kim-shop -month", "", "cloudhost", "", "kim-shop/web", "",
		"kim-shop/db", "", "kim-shop", "", "/ web", "", "/ db", "", "weekly-db", "", "seoul-1", "", "@every", "", "KST", "", "KRW", "", "hostwatch", "").Replace(text)
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') }) {
		if w != "s" && w != "m" { // @every 30s, 1m
			t.Errorf("English %q in the Korean claim", w)
		}
	}
}

// TestJSONRoundTrip: what JSON writes, ReadJSON reads back as it was.
func TestJSONRoundTrip(t *testing.T) {
	c, loc := fixtureClaim(t)
	c.ChainHead = "sha256:00ff"
	var first, second bytes.Buffer
	if err := c.JSON(&first, loc); err != nil {
		t.Fatal(err)
	}
	back, err := claim.ReadJSON(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := back.JSON(&second, loc); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Errorf("read back differently:\n%s\nwas\n%s", second.String(), first.String())
	}
	if back.Uptime != 99.768 || back.Credit != 5500 || back.Downtime != c.Downtime || back.Missed.Percent != 10 || len(back.Outages) != 2 ||
		!back.Outages[1].Errors[1].Last.Equal(c.Outages[1].Errors[1].Last) || back.ChainHead != "sha256:00ff" || back.Checks[1].Timeout != 5*time.Second {
		t.Errorf("read back %+v", back)
	}
	for _, key := range []string{`"uptime_percent": 99.768,`, `"credit": 5500,`, `"tier": {`, `"chain_head": "sha256:00ff",`, `"downtime_seconds": 6000,`} {
		if !strings.Contains(first.String(), key) {
			t.Errorf("no %s in\n%s", key, first.String())
		}
	}
}

// TestHTMLIsOnePage: the page loads nothing from elsewhere, prints well,
// and what the probes saw stays text in it.
func TestHTMLIsOnePage(t *testing.T) {
	c, loc := fixtureClaim(t)
	c.Outages[0].Errors[0].FirstError = `<script src="https://evil.example/x.js"></script>`
	for _, l := range locale.Langs {
		var b bytes.Buffer
		if err := words(t, l, loc).HTML(&b, c); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		for _, bad := range []string{"<script", `src="`, `href="`, "@import", "url(", "<link", "<img"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s: the page holds %q", l, bad)
			}
		}
		for _, want := range []string{"<html lang=\"" + string(l) + "\">", "@media print", "99.768%", "5,500 KRW", "&lt;script"} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: no %q in the page", l, want)
			}
		}
	}
	// The same text in Markdown is no markup either.
	c.Outages[0].Errors[0].FirstError = "a | b *c*"
	var b bytes.Buffer
	if err := words(t, locale.English, loc).Markdown(&b, c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `“a \| b \*c\*”`) {
		t.Errorf("not escaped:\n%s", b.String())
	}
}
