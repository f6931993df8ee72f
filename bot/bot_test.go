package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/claim"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/incident"
	"github.com/hostwatch/hostwatch/locale"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/report"
	"github.com/hostwatch/hostwatch/store"
)

var t0 = time.Date(2026, 11, 25, 14, 2, 0, 0, time.UTC)

type fakeBackend struct {
	statuses  []monitor.Status
	incidents map[int64]*store.Incident
	acked     []string
	silences  []store.Silence
	origins   map[string]store.Origin
}

func (f *fakeBackend) Origins(context.Context) (map[string]store.Origin, error) {
	return f.origins, nil
}

// Claims has no provider with an sla: /claim is tested through the binary.
func (f *fakeBackend) Claims(context.Context, []string, string, string) ([]*claim.Claim, error) {
	return nil, nil
}

func (f *fakeBackend) Alert(_ context.Context, id int64) (incident.AlertInfo, bool) {
	switch id {
	case 7:
		return incident.AlertInfo{ID: 7, Scope: store.ScopeMerchant, Name: "kim-shop", Checks: []string{"kim-shop/web"}}, true
	case 8:
		return incident.AlertInfo{ID: 8, Scope: store.ScopeProvider, Name: "examplehost"}, true
	}
	return incident.AlertInfo{}, false
}

func (f *fakeBackend) AcknowledgeAlert(_ context.Context, id int64, by string) (incident.AlertInfo, error) {
	info, _ := f.Alert(context.Background(), id)
	f.acked = append(f.acked, fmt.Sprintf("alert %d by %s", id, by))
	return info, nil
}

func (f *fakeBackend) Silence(_ context.Context, target string, d time.Duration, reason, by string) (store.Silence, error) {
	if target == "provider:nowhere" {
		return store.Silence{}, incident.ErrUnknownTarget
	}
	s := store.Silence{ID: int64(len(f.silences) + 1), Target: target, Start: t0, End: t0.Add(d), Reason: reason, By: by}
	f.silences = append(f.silences, s)
	return s, nil
}

func (f *fakeBackend) SilenceAlert(ctx context.Context, id int64, d time.Duration, by string) (store.Silence, error) {
	info, _ := f.Alert(context.Background(), id)
	return f.Silence(ctx, info.Checks[0], d, "", by)
}

func (f *fakeBackend) Silences(context.Context) ([]store.Silence, error) {
	return append([]store.Silence{{Target: "lee-shop", End: t0.Add(time.Hour), Reason: "planned move"}}, f.silences...), nil
}

func (f *fakeBackend) Report(ctx context.Context, merchants []string, period string) (*report.Report, error) {
	rp := report.Reporter{Source: f, Checks: []string{"kim-shop/web", "lee-shop/web"}, Location: time.UTC,
		Covers: func(string, string) bool { return false }, Now: func() time.Time { return t0.Add(time.Hour) }}
	return rp.Report(ctx, merchants, period)
}

func (f *fakeBackend) Windows(context.Context, time.Time, time.Time) ([]store.Window, error) {
	return nil, nil
}

func (f *fakeBackend) Unsilence(_ context.Context, id int64, by string) (store.Silence, error) {
	for i, s := range f.silences {
		if s.ID == id {
			f.silences = append(f.silences[:i], f.silences[i+1:]...)
			return s, nil
		}
	}
	return store.Silence{}, store.ErrNotFound
}

func (f *fakeBackend) Statuses() []monitor.Status { return f.statuses }

func (f *fakeBackend) Incidents(_ context.Context, fl store.IncidentFilter) ([]store.Incident, error) {
	var out []store.Incident
	for id := int64(len(f.incidents)); id >= 1; id-- {
		if in := f.incidents[id]; in != nil && (!fl.OpenOnly || in.Open()) {
			out = append(out, *in)
		}
	}
	return out, nil
}

func (f *fakeBackend) Incident(_ context.Context, id int64) (store.Incident, error) {
	if in, ok := f.incidents[id]; ok {
		return *in, nil
	}
	return store.Incident{}, fmt.Errorf("incident #%d: %w", id, store.ErrNotFound)
}

func (f *fakeBackend) Acknowledge(_ context.Context, n int64, by string) (store.Incident, error) {
	in := f.incidents[n]
	if in.AckBy != "" {
		return *in, store.ErrAcknowledged
	}
	in.AckBy, in.AckAt = by, t0.Add(time.Minute)
	f.acked = append(f.acked, fmt.Sprintf("#%d by %s", n, by))
	return *in, nil
}

func (f *fakeBackend) Resolve(_ context.Context, n int64, by string) (store.Incident, error) {
	in := f.incidents[n]
	if !in.Open() {
		return *in, store.ErrNotFound
	}
	in.End, in.ResolvedBy = t0.Add(90*time.Minute), by
	return *in, nil
}

func (f *fakeBackend) ProbeNow(_ context.Context, check string) (checks.Result, error) {
	if check == "kim-shop/web" {
		return checks.Result{OK: true, Latency: 41 * time.Millisecond, Evidence: "connected to 192.0.2.1:443"}, nil
	}
	return checks.Result{Kind: "refused", Error: "connection refused"}, nil
}

func testBot(t *testing.T) (*Bot, *fakeBackend) {
	cfg, err := config.Parse("f.yaml", []byte(`
timezone: UTC
contacts:
  - {name: kim, telegram: 111}
  - {name: lee, telegram: 222}
  - {name: ops, telegram: -100999}
admins: [ops]
merchants:
  - name: kim-shop
    contacts: [kim]
    checks:
      - {name: web, tcp: {address: "kim.example:443"}}
  - name: lee-shop
    contacts: [lee]
    checks:
      - {name: web, tcp: {address: "lee.example:443"}}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	fb := &fakeBackend{incidents: map[int64]*store.Incident{
		1: {ID: 1, Check: "kim-shop/web", Start: t0},
		2: {ID: 2, Check: "lee-shop/web", Start: t0},
	}}
	for _, c := range cfg.Checks() {
		fb.statuses = append(fb.statuses, monitor.Status{Check: c, State: store.CheckState{State: store.Down, Since: t0}})
	}
	tmpl, err := locale.Load("", cfg.Location)
	if err != nil {
		t.Fatal(err)
	}
	return New(cfg, "telegram", "hostwatch_bot", fb, tmpl), fb
}

// TestSourceAlerts: an alert of a source that fires is one of its
// merchant's checks down in /status and an incident in /incidents, named by
// its title and labels, and only its merchant's contacts see it.
func TestSourceAlerts(t *testing.T) {
	b, fb := testBot(t)
	fb.incidents[3] = &store.Incident{ID: 3, Check: "kim-shop/prom/9f2c4e1a", Start: t0.Add(time.Minute)}
	fb.origins = map[string]store.Origin{"kim-shop/prom/9f2c4e1a": {Source: "prom", Title: "prom/HighErrorRate",
		Labels: map[string]string{"alertname": "HighErrorRate", "instance": "web-1"}}}
	tests := []struct {
		caller, text string
		want, not    []string
	}{
		{"111", "/status", []string{"2 of 2 checks down", "🔴 prom/HighErrorRate (instance=web-1) — down since Wed Nov 25 14:03 UTC"}, []string{"9f2c4e1a"}},
		{"111", "/incidents", []string{"#3 prom/HighErrorRate (instance=web-1) — open", "#1 kim-shop/web"}, nil},
		{"222", "/status", []string{"lee-shop/web"}, []string{"HighErrorRate"}},
		{"222", "/incidents", nil, []string{"HighErrorRate", "#3"}},
	}
	for _, tt := range tests {
		got := strings.Join(texts(b.Command(context.Background(), Request{Caller: tt.caller, User: "@x", Text: tt.text})), "\n")
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s %s: %q lacks %q", tt.caller, tt.text, got, w)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(got, n) {
				t.Errorf("%s %s: %q holds %q", tt.caller, tt.text, got, n)
			}
		}
	}
}

func TestCommands(t *testing.T) {
	b, fb := testBot(t)
	tests := []struct {
		name, caller, text string
		want               []string // each must appear in the answer
		not                []string // none may
	}{
		{"owner status", "111", "/status", []string{"1 of 1 checks down\n🔴 kim-shop/web — down since Wed Nov 25 14:02 UTC"}, []string{"lee-shop"}},
		{"addressed to us in a group", "111", "/status@hostwatch_bot", []string{"kim-shop/web"}, nil},
		{"admin sees all", "-100999", "/status", []string{"kim-shop/web", "lee-shop/web"}, nil},
		{"stranger refused", "333", "/status", []string{"not registered", "Its id is 333"}, []string{"kim-shop", "lee-shop"}},
		{"stranger asks for help", "333", "/start", []string{"/status", "This chat's id is 333", "not registered"}, []string{"kim-shop"}},
		{"incidents", "111", "/incidents", []string{"#1 kim-shop/web — open"}, []string{"#2"}},
		{"incidents bad arg", "111", "/incidents sideways", []string{"Usage: /incidents [open|all]"}, nil},
		{"ack without number", "111", "/ack", []string{"Which incident?", "Usage: /ack N"}, nil},
		{"ack not a number", "111", "/ack twelve", []string{`"twelve" is not an incident number`}, nil},
		{"ack someone else's", "111", "/ack 2", []string{"There is no incident #2 among yours."}, nil},
		{"ack unknown", "111", "/ack 99", []string{"There is no incident #99 among yours."}, nil},
		{"ack", "111", "/ack 1", []string{"Incident #1 (kim-shop/web) acknowledged by @kim."}, nil},
		{"ack again", "111", "/ack #1", []string{"already acknowledged by @kim"}, nil},
		{"silence", "111", "/silence kim-shop/web 2h moving the database", []string{"kim-shop/web silenced until Wed Nov 25 16:02 UTC (silence #1)", "/unsilence 1"}, nil},
		{"silence for days", "111", "/silence kim-shop 3d", []string{"kim-shop silenced until Sat Nov 28 14:02 UTC (silence #2)"}, nil},
		{"silence someone else's", "111", "/silence lee-shop 1h", []string{`There is no "lee-shop" among yours`}, nil},
		{"silence a provider", "111", "/silence provider:examplehost 1h", []string{"Only an admin"}, nil},
		{"admin silences an unknown provider", "-100999", "/silence provider:nowhere 1h", []string{`There is no "provider:nowhere"`}, nil},
		{"silence without duration", "111", "/silence kim-shop", []string{"for how long?", "Usage: /silence TARGET DURATION [reason]"}, nil},
		{"silence bad duration", "111", "/silence kim-shop forever", []string{`"forever" is not a duration`}, nil},
		{"silence too long", "111", "/silence kim-shop 100d", []string{"from a minute to 90 days"}, nil},
		{"silences", "111", "/silences", []string{"#1 kim-shop/web until Wed Nov 25 16:02 UTC, by @kim: moving the database", "#2 kim-shop"}, []string{"lee-shop"}},
		{"admin sees every silence", "-100999", "/silences", []string{"(config) lee-shop until Wed Nov 25 15:02 UTC: planned move", "#1 kim-shop/web"}, nil},
		{"unsilence someone else's", "222", "/unsilence 1", []string{"There is no silence #1 among yours"}, nil},
		{"unsilence", "111", "/unsilence 1", []string{"Silence #1 of kim-shop/web lifted by @kim"}, nil},
		{"unsilence again", "111", "/unsilence 1", []string{"There is no silence #1 among yours"}, nil},
		{"unsilence without number", "111", "/unsilence", []string{"Which silence?"}, nil},
		{"report", "111", "/report 7d", []string{"Report 7d:", "kim-shop/web 99.404% up, down 1h0m0s in 1 incident(s)"}, []string{"lee-shop"}},
		{"report by an admin", "-100999", "/report", []string{"Report 30d:", "kim-shop/web", "lee-shop/web"}, nil},
		{"report bad period", "111", "/report forever", []string{`"forever": a period is`, "Usage: /report [PERIOD]"}, nil},
		{"report two periods", "111", "/report 7d 30d", []string{"Usage: /report [PERIOD]"}, nil},
		{"resolve without number", "111", "/resolve", []string{"Usage: /resolve N"}, nil},
		{"resolve someone else's", "111", "/resolve 2", []string{"There is no incident #2 among yours."}, nil},
		{"resolve", "111", "/resolve 1", []string{"Incident #1 (kim-shop/web) resolved by @kim after 1h30m."}, nil},
		{"resolve again", "111", "/resolve 1", []string{"Incident #1 is already resolved."}, nil},
		{"check", "111", "/check kim-shop/web", []string{"kim-shop/web is up: answered in 41ms (connected to 192.0.2.1:443)"}, nil},
		{"check someone else's", "111", "/check lee-shop/web", []string{`There is no check "lee-shop/web" among yours.`}, []string{"refused"}},
		{"check without name", "111", "/check", []string{"Usage: /check NAME"}, nil},
		{"unknown command", "111", "/frobnicate", []string{"I don't know /frobnicate"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(texts(b.Command(context.Background(), Request{Caller: tt.caller, User: "@kim", Text: tt.text})), "\n")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("answer lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("answer shows %q:\n%s", n, got)
				}
			}
		})
	}
	if len(fb.acked) != 1 {
		t.Errorf("acknowledged %v, want once", fb.acked)
	}
	replies := b.Command(context.Background(), Request{Caller: "111", Text: "/report 7d"})
	if len(replies) != 1 || replies[0].File == nil || replies[0].File.Name != "hostwatch-report-7d.csv" ||
		!strings.HasPrefix(string(replies[0].File.Data), "incident,check,start") || strings.Contains(string(replies[0].File.Data), "lee-shop") {
		t.Errorf("report file: %+v", replies)
	}
	if got := b.Command(context.Background(), Request{Caller: "111", Text: "/status@other_bot"}); got != nil {
		t.Errorf("a command for another bot was answered: %+v", got)
	}
}

func TestPress(t *testing.T) {
	b, _ := testBot(t)
	ctx := context.Background()
	if got := b.Press(ctx, Request{Caller: "111", User: "@kim"}, "ack:1"); !strings.Contains(got, "acknowledged by @kim") {
		t.Errorf("ack button: %q", got)
	}
	if got := b.Press(ctx, Request{Caller: "333"}, "ack:1"); !strings.Contains(got, "333") || strings.Contains(got, "kim-shop") {
		t.Errorf("stranger: %q", got)
	}
	if got := b.Press(ctx, Request{Caller: "111"}, "drop table"); !strings.Contains(got, "not one of mine") {
		t.Errorf("forged data: %q", got)
	}
	tests := []struct{ caller, data, want string }{
		{"111", "ack:g7", "kim-shop/web acknowledged by @kim"},
		{"222", "ack:g7", "This alert is over"}, // not lee's: nothing to say about it
		{"111", "ack:g8", "This alert is over"}, // a provider's: admins only
		{"-100999", "ack:g8", "examplehost acknowledged"},
		{"111", "ack:g9", "This alert is over"},
		{"111", "silence:g7:1h0m0s", "kim-shop/web silenced until Wed Nov 25 15:02 UTC"},
		{"111", "silence:1:1h0m0s", "kim-shop/web silenced until"},
		{"111", "silence:2:1h0m0s", "There is no incident #2 among yours"},
	}
	for _, tt := range tests {
		if got := b.Press(ctx, Request{Caller: tt.caller, User: "@kim"}, tt.data); !strings.Contains(got, tt.want) {
			t.Errorf("%s presses %s: %q, want %q", tt.caller, tt.data, got, tt.want)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"/status", "/ack 12", "/status@hostwatch_bot", "/silence kim-shop/web 1h reason here", "", "@", "/@", "status"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, ok := ParseCommand(text, "hostwatch_bot")
		if ok && (strings.ContainsAny(c.Name, " \t\n@") && c.Name != "") {
			t.Fatalf("%q parsed to name %q", text, c.Name)
		}
	})
}

// texts are the texts of replies.
func texts(rs []Reply) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Text)
	}
	return out
}

// TestKoreanReplies: a contact with language: ko gets every reply in
// Korean, with the display names and the ids to type, while an English
// contact of the same merchant gets English.
func TestKoreanReplies(t *testing.T) {
	cfg, err := config.Parse("f.yaml", []byte(`
timezone: Asia/Seoul
contacts:
  - {name: kim, telegram: 111, language: ko}
  - {name: lee, telegram: 222}
  - {name: park, telegram: 444, language: ko}
merchants:
  - name: kim-shop
    display_name: 김씨네 가게
    contacts: [kim, lee]
    checks:
      - {name: web, display_name: 쇼핑몰 메인, tcp: {address: "kim.example:443"}}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	fb := &fakeBackend{incidents: map[int64]*store.Incident{1: {ID: 1, Check: "kim-shop/web", Start: t0}}}
	for _, c := range cfg.Checks() {
		fb.statuses = append(fb.statuses, monitor.Status{Check: c, State: store.CheckState{State: store.Down, Since: t0}})
	}
	tmpl, err := locale.Load("", cfg.Location)
	if err != nil {
		t.Fatal(err)
	}
	b := New(cfg, "telegram", "hostwatch_bot", fb, tmpl)
	ctx := context.Background()
	ask := func(caller, text string) string {
		return strings.Join(texts(b.Command(ctx, Request{Caller: caller, User: "@kim", Text: text})), "\n")
	}
	tests := []struct{ caller, text, want string }{
		{"111", "/status", "점검 1개 중 1개 장애\n🔴 김씨네 가게 / 쇼핑몰 메인 (kim-shop/web) — 장애, 11월 25일 (수) 23:02 KST부터"},
		{"222", "/status", "1 of 1 checks down\n🔴 김씨네 가게 / 쇼핑몰 메인 (kim-shop/web) — down since Wed Nov 25 23:02 KST"},
		{"111", "/incidents", "#1 김씨네 가게 / 쇼핑몰 메인 (kim-shop/web) — 진행 중, 11월 25일 (수) 23:02 KST"},
		{"111", "/ack", "어느 장애인가요? 번호를 알려 주세요. 사용법: /ack 번호, 예: /ack 12"},
		{"111", "/ack 1", "@kim 님이 장애 #1 (김씨네 가게 / 쇼핑몰 메인 (kim-shop/web))을(를) 확인했습니다."},
		{"111", "/silence kim-shop 2h", "🔕 김씨네 가게 (kim-shop) 알림을 11월 26일 (목) 01:02 KST까지 중지했습니다 (알림 중지 #1)."},
		{"111", "/silence kim-shop forever", `"forever"은(는) 기간이 아닙니다.`},
		{"111", "/report 7d", "7d 보고서:"},
		{"111", "/frobnicate", "/frobnicate 명령은 없습니다."},
		{"444", "/status", "이 채팅은 hostwatch에 등록되지 않아"},
		{"333", "/status", "Sorry, this chat is not registered"},
	}
	for _, tt := range tests {
		if got := ask(tt.caller, tt.text); !strings.Contains(got, tt.want) {
			t.Errorf("%s asks %s:\n%s\nwant %q", tt.caller, tt.text, got, tt.want)
		}
	}
	replies := b.Command(ctx, Request{Caller: "111", Text: "/report 7d"})
	if len(replies) != 1 || replies[0].File == nil || !strings.HasPrefix(string(replies[0].File.Data), "\uFEFF장애 번호,점검") {
		t.Errorf("Korean report file: %+v", replies)
	}
	if got := b.Press(ctx, Request{Caller: "111", User: "@kim"}, "silence:g7:1h0m0s"); !strings.Contains(got, "알림을") || strings.Contains(got, "unsilence") {
		t.Errorf("the Silence button's answer: %q", got)
	}
	// No English word but ids, commands and names in what a Korean reader
	// gets.
	for _, text := range []string{"/help", "/status", "/incidents all", "/silences", "/report 7d", "/claim 2025-11", "/check kim-shop/web", "/resolve 1"} {
		got := ask("111", text)
		rest := strings.NewReplacer("kim-shop/web", "", "kim-shop", "", "hostwatch", "", "KST", "", "@kim", "", "open|all", "",
			"merchant/check", "", "merchant", "", "provider:", "", "MTTA", "", "MTTR", "", "connected to", "", "CSV", "").Replace(got)
		for _, cmd := range []string{"status", "incidents", "ack", "resolve", "silences", "unsilence", "silence", "report", "claim", "check", "help"} {
			rest = strings.ReplaceAll(rest, "/"+cmd, "")
			rest = strings.ReplaceAll(rest, "7d", "")
		}
		for _, w := range strings.FieldsFunc(rest, func(r rune) bool { return r > 'z' || r < 'A' || (r > 'Z' && r < 'a') }) {
			if len(w) > 1 && w != "ms" { // milliseconds, as Korean writes them too
				t.Errorf("%s: English %q in\n%s", text, w, got)
			}
		}
	}
}

// TestCheckHeartbeat: /check of a heartbeat shows its owner and the
// admins its state, its last ping, when the next is due and its ping URL,
// in their language; anyone else learns nothing of it, the URL least.
func TestCheckHeartbeat(t *testing.T) {
	cfg, err := config.Parse("f.yaml", []byte(`
timezone: UTC
contacts:
  - {name: kim, telegram: 111, language: ko}
  - {name: lee, telegram: 222}
  - {name: ops, telegram: -100999}
admins: [ops]
merchants:
  - name: kim-shop
    display_name: 김씨네 가게
    contacts: [kim]
    checks:
      - {name: backup, display_name: 백업, heartbeat: {period: 1h, grace: 10m}}
  - name: lee-shop
    contacts: [lee]
    checks:
      - {name: web, tcp: {address: "lee.example:443"}}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	backup := cfg.Checks()[0]
	fb := &fakeBackend{statuses: []monitor.Status{
		{Check: backup, State: store.CheckState{State: store.Up, Since: t0.Add(-time.Hour), Probed: t0}, LastAt: t0,
			Last:      checks.Result{OK: true, Latency: 2 * time.Minute, Evidence: "backup done:\n 12 files"},
			NextProbe: t0.Add(70 * time.Minute)},
		{Check: cfg.Checks()[1], State: store.CheckState{State: store.Up}},
	}}
	tmpl, err := locale.Load("", cfg.Location)
	if err != nil {
		t.Fatal(err)
	}
	b := New(cfg, "telegram", "hostwatch_bot", fb, tmpl)
	const url = "https://hostwatch.example.com/ping/Xk2mP9qRvT4wLz8NcB5dHj7s"
	b.SetPingURLs(map[string]string{"kim-shop/backup": url})
	ask := func(caller string) string {
		return strings.Join(texts(b.Command(context.Background(), Request{Caller: caller, Text: "/check kim-shop/backup"})), "\n")
	}

	admin := ask("-100999")
	for _, want := range []string{
		"✅ 김씨네 가게 / 백업 (kim-shop/backup) is up. It is a heartbeat",
		"Last ping Wed Nov 25 14:02:00 UTC, after a run of 2m00s",
		": backup done: 12 files",
		"Next ping due by Wed Nov 25 15:02:00 UTC, down 10m00s later without one.",
		"Ping URL: " + url + "\n(add /start when the job begins, /fail when it fails)",
	} {
		if !strings.Contains(admin, want) {
			t.Errorf("the admin's answer lacks %q:\n%s", want, admin)
		}
	}
	owner := ask("111")
	for _, want := range []string{"✅ 김씨네 가게 / 백업 (kim-shop/backup) 정상", "마지막 신호: 11월 25일 (수) 14:02:00 UTC, 2분 동안 실행",
		"다음 신호 기한: 11월 25일 (수) 15:02:00 UTC, 그 뒤 10분 안에 신호가 없으면 장애.", "신호 주소: " + url} {
		if !strings.Contains(owner, want) {
			t.Errorf("the owner's answer lacks %q:\n%s", want, owner)
		}
	}
	rest := strings.NewReplacer(url, "", "kim-shop/backup", "", "hostwatch", "", "UTC", "", "/start", "", "/fail", "",
		"backup done: 12 files", "").Replace(owner)
	for _, w := range strings.FieldsFunc(rest, func(r rune) bool { return r > 'z' || r < 'A' || (r > 'Z' && r < 'a') }) {
		t.Errorf("English %q in the Korean answer:\n%s", w, owner)
	}
	for _, caller := range []string{"222", "333"} {
		if got := ask(caller); strings.Contains(got, "/ping/") || strings.Contains(got, "backup done") || strings.Contains(got, "15:02") {
			t.Errorf("%s, not kim-shop's, was shown the heartbeat:\n%s", caller, got)
		}
	}

	// Down for a missed ping, never pinged: the error and no last ping.
	fb.statuses[0] = monitor.Status{Check: backup, State: store.CheckState{State: store.Down, Since: t0},
		Last:      checks.Result{Kind: "heartbeat", Error: "no ping since hostwatch started at 13:52:00, due every 1h with 10m grace"},
		NextProbe: t0.Add(2 * time.Hour)}
	if got := ask("-100999"); !strings.Contains(got, "🔴 김씨네 가게 / 백업 (kim-shop/backup) is down: no ping since hostwatch started at 13:52:00") ||
		!strings.Contains(got, "No ping seen yet.") || !strings.Contains(got, "due by Wed Nov 25 15:52:00 UTC") {
		t.Errorf("a heartbeat down:\n%s", got)
	}
}

// TestStatusByLocation: a check probed from several places shows what
// each sees, a place cut off as such.
func TestStatusByLocation(t *testing.T) {
	b, fb := testBot(t)
	for i := range fb.statuses {
		if fb.statuses[i].Check.ID == "kim-shop/web" {
			fb.statuses[i].Seen = []monitor.Seen{{Location: "seoul", State: store.Down}, {Location: "busan", State: store.Down},
				{Location: "jeju", State: store.Up, Cut: true}}
		}
	}
	got := strings.Join(texts(b.Command(context.Background(), Request{Caller: "111", User: "@kim", Text: "/status"})), "\n")
	if want := "🔴 kim-shop/web — down since Wed Nov 25 14:02 UTC (seoul down, busan down, jeju cut off)"; !strings.Contains(got, want) {
		t.Errorf("answer lacks %q:\n%s", want, got)
	}
}
