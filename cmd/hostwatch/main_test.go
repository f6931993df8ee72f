package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/notifier"
	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/postgres"
	"github.com/hostwatch/hostwatch/store/postgres/pgtest"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

// binary is hostwatch built once for these tests: they run it as a user does.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hostwatch-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "hostwatch")
	// testclock: HOSTWATCH_TEST_CLOCK_SPEED can make its probes' clock
	// run fast (clock_testclock.go).
	build := exec.Command("go", "build", "-race", "-tags", "testclock", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hostwatch:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func hostwatch(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return hostwatchAt(t, "", nil, args...)
}

// hostwatchAt runs the binary in dir with the environment less the
// variables named in unset.
func hostwatchAt(t *testing.T, dir string, unset []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(unset, name)
	})
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "hostwatch.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestValidate(t *testing.T) {
	_, _, code := hostwatch(t, "validate", "-config", "../../examples/hostwatch.yaml")
	if code != 0 {
		t.Errorf("the example config: exit %d", code)
	}
	bad := writeConfig(t, t.TempDir(), `timezone: UTC
contacts:
  - name: kim
    telegram: 111
merchants:
  - name: kim-shop
    contacts: [kim]
    checks:
      - name: storefront
        http: {url: "kim-shop.example"}
        timeout: soon
      - name: db
        tcp: {address: "db:3306"}
        schedul: "@every 1m"
`)
	_, stderr, code := hostwatch(t, "validate", "-config", bad)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	want := []string{
		bad + ":10: merchants[0].checks[0].http.url: must be an absolute http or https URL",
		bad + ":11: merchants[0].checks[0].timeout: must be a duration such as 30s or 5m, not \"soon\"",
		bad + ":14: merchants[0].checks[1].schedul: unknown key (did you mean \"schedule\"?)",
	}
	if got := strings.Split(strings.TrimSpace(stderr), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, strings.Join(want, "\n"))
	}
}

// TestValidateSlipsAndWarnings: a tab, an unquoted @every and an unknown
// key are all reported with their lines (exit 1); what is only likely a
// mistake is a warning, and the file is valid (exit 0).
func TestValidateSlipsAndWarnings(t *testing.T) {
	dir := t.TempDir()
	bad := writeConfig(t, dir, "merchants:\n  - name: kim-shop\n    checks:\n      - name: web\n\thttp: {url: \"https://kim.example/\"}\n"+
		"        schedule: @every 30s\n        timeot: 5s\n")
	_, stderr, code := hostwatch(t, "validate", "-config", bad)
	want := bad + ":5: a tab in the indentation: YAML indents with spaces only\n" +
		bad + ":6: a value starting with @ must be quoted: schedule: \"@every 30s\"\n" +
		bad + ":7: merchants[0].checks[0].timeot: unknown key (did you mean \"timeout\"?)\n"
	if code != 1 || stderr != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, stderr, want)
	}
	warned := writeConfig(t, dir, `contacts: [{name: kim, telegram: 111}]
merchants:
  - name: kim-shop
    contacts: [kim]
    checks:
      - {name: web, tcp: {address: "kim.example:443"}}
`)
	out, stderr, code := hostwatch(t, "validate", "-config", warned)
	if code != 0 || !strings.Contains(out, ": ok, 1 merchants, 1 checks") ||
		!strings.HasPrefix(stderr, warned+":4: warning: merchants[0].contacts: no contact of kim-shop has an address on a configured app") {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
}

// TestValidateTemplates: a template of the operator's that does not parse,
// or that names nothing hostwatch renders, is an error with its file and
// line; the built-in ones stand.
func TestValidateTemplates(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "templates")
	for path, body := range map[string]string{
		"ko/message.tmpl": "{{define \"title\"}}{{.Merchant}} 장애\n{{if .Down}}x{{end}\n{{end}}\n",
		"en/bot.tmpl":     "{{define \"bot.hepl\"}}help{{end}}",
		"ja/message.tmpl": "{{define \"title\"}}x{{end}}",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(tmpl, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmpl, path), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := writeConfig(t, dir, fmt.Sprintf(`templates: %q
merchants:
  - name: kim-shop
    checks:
      - {name: web, tcp: {address: "kim.example:443"}}
`, tmpl))
	_, stderr, code := hostwatch(t, "validate", "-config", cfg)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		cfg + ":1: templates: " + filepath.Join(tmpl, "ko", "message.tmpl") + ":2: bad character U+007D '}'",
		cfg + ":1: templates: " + filepath.Join(tmpl, "en", "bot.tmpl") + `: "bot.hepl" is not a template hostwatch uses`,
		cfg + ":1: templates: " + filepath.Join(tmpl, "ja") + ": not a language this hostwatch speaks (en, ko)",
	} {
		if !strings.Contains(stderr, want+"\n") {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestUsageAndVersion(t *testing.T) {
	if out, _, code := hostwatch(t, "version"); code != 0 || !strings.HasPrefix(out, "hostwatch ") || !strings.HasSuffix(out, " "+runtime.Version()+"\n") {
		t.Errorf("version: %q exit %d", out, code)
	}
	if _, stderr, code := hostwatch(t, "frobnicate"); code != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %q exit %d", stderr, code)
	}
	if _, _, code := hostwatch(t); code != 2 {
		t.Errorf("no command: exit %d", code)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestCheck(t *testing.T) {
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("cart")) }))
	defer shop.Close()
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`
merchants:
  - name: kim-shop
    checks:
      - name: storefront
        http: {url: "%s/", contains: cart}
      - name: db
        tcp: {address: "%s"}
        timeout: 2s
`, shop.URL, freeAddr(t)))

	out, stderr, code := hostwatch(t, "check", "-config", cfg)
	if code != 1 {
		t.Errorf("exit %d with a check down, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "CHECK") || !strings.Contains(lines[0], "LATENCY") {
		t.Fatalf("table:\n%s", out)
	}
	if f := strings.Fields(lines[1]); f[0] != "kim-shop/storefront" || f[1] != "ok" {
		t.Errorf("storefront row: %q", lines[1])
	}
	if f := strings.Fields(lines[2]); f[0] != "kim-shop/db" || f[1] != "down" || !strings.Contains(lines[2], "connection refused") {
		t.Errorf("db row: %q", lines[2])
	}
	if !strings.Contains(stderr, "1 of 2 checks down") {
		t.Errorf("stderr: %q", stderr)
	}

	if out, _, code := hostwatch(t, "check", "-config", cfg, "kim-shop/storefront"); code != 0 || strings.Contains(out, "kim-shop/db") {
		t.Errorf("one named check: exit %d\n%s", code, out)
	}
	if _, stderr, code := hostwatch(t, "check", "-config", cfg, "lee-shop"); code != 2 || !strings.Contains(stderr, `"lee-shop"`) {
		t.Errorf("unknown name: exit %d %q", code, stderr)
	}
}

// newShop is a shop page with "cart" on it, or a 502 while down is set.
func newShop(t *testing.T) (*httptest.Server, *atomic.Bool) {
	down := &atomic.Bool{}
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		w.Write([]byte("cart"))
	}))
	t.Cleanup(shop.Close)
	return shop, down
}

// proc is a running `hostwatch run`.
type proc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	stderr bytes.Buffer
	done   chan error
}

func startDaemon(t *testing.T, dir, cfg string, flags ...string) *proc {
	t.Helper()
	return startBinary(t, binary, dir, cfg, flags...)
}

// plainBinary is hostwatch built without the race detector, for the tests
// that run several daemons under load: built once, when one asks.
var plainBinary = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(filepath.Dir(binary), "hostwatch-plain")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build hostwatch: %v: %s", err, out)
	}
	return bin, nil
})

func startBinary(t *testing.T, bin, dir, cfg string, flags ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, append([]string{"run", "-config", cfg}, flags...)...), done: make(chan error, 1)}
	p.cmd.Dir = dir
	p.cmd.Stderr = &syncWriter{w: &p.stderr, mu: &p.mu}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

type syncWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

func (p *proc) output() ([]string, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...), p.stderr.String()
}

// waitLine waits for a console line with prefix and returns it.
func (p *proc) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		lines, _ := p.output()
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	lines, stderr := p.output()
	t.Fatalf("no line %q; stdout:\n%s\nstderr:\n%s", prefix, strings.Join(lines, "\n"), stderr)
	return ""
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		_, stderr := p.output()
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr)
		}
		if !strings.Contains(stderr, "hostwatch stopped") {
			t.Errorf("no clean stop in the log:\n%s", stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("hostwatch did not stop within 15s of SIGTERM")
	}
}

// TestRunThroughAnOutage runs the real binary against a shop that goes down,
// restarts it during the outage, and brings the shop back, on each store.
func TestRunThroughAnOutage(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) { runThroughAnOutage(t, driver) })
	}
}

// testStore gives a test a store of its own: the storage section of a
// config, and how to open the store to look at what the daemon wrote.
func testStore(t *testing.T, driver string) (storage string, open func() store.Store) {
	t.Helper()
	if driver == "postgres" {
		dsn := pgtest.Database(t)
		return fmt.Sprintf("storage: {driver: postgres, dsn: %q}", dsn), func() store.Store {
			st, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
	}
	db := filepath.Join(t.TempDir(), "data", "hostwatch.db")
	os.Mkdir(filepath.Dir(db), 0o755)
	return fmt.Sprintf("storage: {dsn: %q}", db), func() store.Store {
		st, err := sqlite.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
}

func runThroughAnOutage(t *testing.T, driver string) {
	shop, down := newShop(t)
	dir := t.TempDir()
	listen := freeAddr(t)
	storage, openStore := testStore(t, driver)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
%s
http: {listen: %q}
defaults: {schedule: "@every 1s", down_after: 2, up_after: 2, timeout: 2s, group_wait: 0s}
merchants:
  - name: kim-shop
    checks:
      - name: storefront
        http: {url: "%s/", contains: cart}
`, storage, listen, shop.URL))

	p := startDaemon(t, dir, cfg)
	// On PostgreSQL an instance takes checks once the others could know
	// of it: the shop goes down once it is probed.
	waitHTTP(t, "http://"+listen+"/metrics", `hostwatch_probes_total{check="kim-shop/storefront",result="ok"} 1`)
	down.Store(true)
	wentDown := time.Now()
	line := p.waitLine(t, "DOWN kim-shop/storefront is down: Incident #1,")
	if !strings.Contains(line, "status 502, want 2xx") {
		t.Errorf("down line: %q", line)
	}
	waitHTTP(t, "http://"+listen+"/metrics", `hostwatch_incidents_open 1`)
	waitHTTP(t, "http://"+listen+"/metrics", `hostwatch_check_up{check="kim-shop/storefront"} 0`)
	waitHTTP(t, "http://"+listen+"/metrics", `hostwatch_build_info{goversion="`+runtime.Version()+`",revision="`)
	p.stop(t)

	// Restart during the outage: the incident stays open, no second one.
	p = startDaemon(t, dir, cfg)
	waitHTTP(t, "http://"+listen+"/metrics", `hostwatch_probes_total{check="kim-shop/storefront",result="fail"} 2`)
	down.Store(false)
	cameBack := time.Now()
	line = p.waitLine(t, "UP kim-shop/storefront is back: Incident #1 resolved")
	p.stop(t)
	if lines, _ := p.output(); len(lines) != 1 {
		t.Errorf("the restarted daemon printed %q, want only the recovery", lines)
	}

	st := openStore()
	all, err := st.Incidents(context.Background(), store.IncidentFilter{})
	if err != nil || len(all) != 1 {
		t.Fatalf("incidents = %+v, %v", all, err)
	}
	in := all[0]
	if d := in.Start.Sub(wentDown); d < -100*time.Millisecond || d > 1100*time.Millisecond {
		t.Errorf("start %v is %v from when the shop went down", in.Start, d)
	}
	if d := in.End.Sub(cameBack); d < -100*time.Millisecond || d > 1100*time.Millisecond {
		t.Errorf("end %v is %v from when the shop came back", in.End, d)
	}
	if !strings.HasSuffix(line, ", down "+notifier.Duration(in.End.Sub(in.Start))) {
		t.Errorf("up line %q does not give the downtime %v", line, in.End.Sub(in.Start))
	}

	// The record, as the report command gives it.
	out, stderr, code := hostwatch(t, "report", "-config", cfg, "-since", "1h", "-format", "csv")
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][0] != "1" || rows[1][1] != "kim-shop/storefront" {
		t.Fatalf("report csv: %q, %v", rows, err)
	}
	if secs := fmt.Sprint(int64(in.End.Sub(in.Start).Round(time.Second) / time.Second)); rows[1][8] != secs {
		t.Errorf("report gives %s s of downtime, the record %s", rows[1][8], secs)
	}
	out, _, code = hostwatch(t, "report", "-config", cfg, "-since", "1h", "-merchant", "kim-shop")
	if code != 0 || !strings.Contains(out, "kim-shop/storefront") || !strings.Contains(out, "#1 kim-shop/storefront") {
		t.Errorf("text report: exit %d:\n%s", code, out)
	}
	for _, bad := range [][]string{{"-since", "forever"}, {"-format", "xml"}, {"-merchant", "nobody"}} {
		if _, stderr, code := hostwatch(t, append([]string{"report", "-config", cfg}, bad...)...); code != 2 || stderr == "" {
			t.Errorf("report %v: exit %d, %q; want 2 with a reason", bad, code, stderr)
		}
	}
}

func waitHTTP(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			if strings.Contains(last, want) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never showed %q; last:\n%s", url, want, last)
}

// TestOneDaemonPerSQLiteFile: a second daemon on the same SQLite file, under
// the same name or another, refuses to start, naming the file and the PID
// that holds it; the first runs on. Once the first has stopped, a new one
// starts.
func TestOneDaemonPerSQLiteFile(t *testing.T) {
	shop, _ := newShop(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "h.db")
	config := func(instance, listen string) string {
		return writeConfig(t, t.TempDir(), fmt.Sprintf(`
timezone: UTC
storage: {dsn: %q}
cluster: {instance: %s}
http: {listen: %q}
defaults: {schedule: "@every 1s"}
merchants:
  - name: kim-shop
    checks:
      - {name: storefront, http: {url: "%s/"}}
`, db, instance, listen, shop.URL))
	}
	listen := freeAddr(t)
	first := config("web-1", listen)
	p := startDaemon(t, dir, first)
	waitHTTP(t, "http://"+listen+"/healthz", `"status":"ok"`)
	for _, cfg := range []string{first, config("web-2", freeAddr(t))} {
		_, stderr, code := hostwatch(t, "run", "-config", cfg)
		want := fmt.Sprintf("%s is in use by another hostwatch daemon (PID %d)", db, p.cmd.Process.Pid)
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("second daemon: exit %d, %q; want %q", code, stderr, want)
		}
	}
	waitHTTP(t, "http://"+listen+"/healthz", `"status":"ok"`)
	p.stop(t)
	p = startDaemon(t, dir, config("web-2", listen))
	waitHTTP(t, "http://"+listen+"/healthz", `"status":"ok"`)
	p.stop(t)
}

// TestMigrate: migrate brings a new store's schema up to date and says
// where it is; run on it afterwards applies nothing again.
func TestMigrate(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			storage, _ := testStore(t, driver)
			cfg := writeConfig(t, t.TempDir(), storage+"\nmerchants: []\n")
			for range 2 {
				out, stderr, code := hostwatch(t, "migrate", "-config", cfg)
				if code != 0 || !strings.HasPrefix(out, driver+" store: schema at version ") {
					t.Errorf("migrate: exit %d, %q, %q", code, out, stderr)
				}
			}
		})
	}
}
