package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/checks"
	"github.com/hostwatch/hostwatch/config"
	"github.com/hostwatch/hostwatch/monitor"
	"github.com/hostwatch/hostwatch/store"
)

var t0 = time.Date(2026, 11, 25, 14, 2, 0, 0, time.UTC)

type fakeBackend struct {
	statuses  []monitor.Status
	incidents map[int64]*store.Incident
	acked     []string
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
	return New(cfg, "telegram", "hostwatch_bot", fb), fb
}

func TestCommands(t *testing.T) {
	b, fb := testBot(t)
	tests := []struct {
		name, caller, text string
		want               []string // each must appear in the answer
		not                []string // none may
	}{
		{"owner status", "111", "/status", []string{"kim-shop/web — down since Nov 25 14:02"}, []string{"lee-shop"}},
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
		{"later command", "111", "/silence kim-shop 1h", []string{"not available yet"}, nil},
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
			got := strings.Join(b.Command(context.Background(), Request{Caller: tt.caller, User: "@kim", Text: tt.text}), "\n")
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
	if got := b.Command(context.Background(), Request{Caller: "111", Text: "/status@other_bot"}); got != nil {
		t.Errorf("a command for another bot was answered: %q", got)
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
