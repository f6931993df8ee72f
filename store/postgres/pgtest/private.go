package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Private is a PostgreSQL server of a test's own, which the test may stop
// and start again: made with initdb in a temporary folder, listening on a
// free port of 127.0.0.1, removed when the test ends.
type Private struct {
	t    testing.TB
	bin  string // the folder of initdb, pg_ctl
	dir  string
	port int
}

// NewPrivate makes and starts a server. It needs PostgreSQL's programs
// (Debian's, under /usr/lib/postgresql), run as the postgres user when the
// test runs as root; without them the test is skipped, unless
// HOSTWATCH_POSTGRES=required.
func NewPrivate(t testing.TB) *Private {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		if os.Getenv("HOSTWATCH_POSTGRES") == "required" {
			t.Fatal("PostgreSQL is required (HOSTWATCH_POSTGRES=required) and its programs are not under /usr/lib/postgresql")
		}
		t.Skip("no PostgreSQL programs under /usr/lib/postgresql to run a server of the test's own")
	}
	base, err := os.MkdirTemp("", "hostwatch-pg")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755)
	p := &Private{t: t, bin: filepath.Dir(bins[len(bins)-1]), dir: base}
	t.Cleanup(func() {
		p.run("pg_ctl", "-D", p.data(), "-m", "immediate", "stop")
		os.RemoveAll(base)
	})
	if err := os.Mkdir(p.data(), 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "-R", "postgres:", base).CombinedOutput(); err != nil {
			t.Fatalf("chown %s: %v: %s", base, err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	if out, err := p.run("initdb", "-D", p.data(), "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v: %s", err, out)
	}
	p.Start()
	return p
}

func (p *Private) data() string { return filepath.Join(p.dir, "data") }

// run runs one of PostgreSQL's programs, as the postgres user under root.
func (p *Private) run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(p.bin, prog)
	cmd := exec.Command(path, args...)
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return cmd.CombinedOutput()
}

// URL is the server's address, for its postgres database.
func (p *Private) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Start starts the server and waits until it takes connections.
func (p *Private) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", p.port, p.dir)
	if out, err := p.run("pg_ctl", "-D", p.data(), "-o", opts, "-l", filepath.Join(p.dir, "log"), "-w", "start"); err != nil {
		p.t.Fatalf("start PostgreSQL: %v: %s", err, out)
	}
}

// Stop stops the server at once, as a crash would: the connections drop,
// transactions under way are lost.
func (p *Private) Stop() {
	p.t.Helper()
	if out, err := p.run("pg_ctl", "-D", p.data(), "-m", "immediate", "-w", "stop"); err != nil {
		p.t.Fatalf("stop PostgreSQL: %v: %s", err, out)
	}
}
