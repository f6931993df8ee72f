package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is hostwatch as a user builds it: the daemon and the agent.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hostwatch-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "hostwatch")
	build := exec.Command("go", "build", "-o", binary, "github.com/hostwatch/hostwatch/cmd/hostwatch")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hostwatch:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// within bounds every wait for something a user would notice: long, for
// a shared machine under load.
const within = time.Minute

// proc is a running hostwatch: the lines of its console, and its log.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  []string
	log  bytes.Buffer
	done chan error
}

// start runs cmd until the test ends; its log is shown if the test fails.
func start(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, done: make(chan error, 1)}
	cmd.Stderr = lockedWriter{p}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out = append(p.out, sc.Text())
			p.mu.Unlock()
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			p.mu.Lock()
			defer p.mu.Unlock()
			t.Logf("%s's console:\n%s\n%s's log:\n%s", name, strings.Join(p.out, "\n"), name, p.log.String())
		}
	})
	return p
}

type lockedWriter struct{ p *proc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.log.Write(b)
}

// lines are the console's lines so far.
func (p *proc) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.out...)
}

// count counts the console's lines starting with prefix.
func (p *proc) count(prefix string) int {
	n := 0
	for _, l := range p.lines() {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// waitLine waits for a console line starting with prefix and returns it.
func (p *proc) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	var line string
	waitFor(t, fmt.Sprintf("%s line %q", p.name, prefix), func() bool {
		for _, l := range p.lines() {
			if strings.HasPrefix(l, prefix) {
				line = l
				return true
			}
		}
		return false
	})
	return line
}

// stop ends the process as an operator does, and waits for it.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("%s: exit after SIGTERM: %v", p.name, err)
		}
	case <-time.After(within):
		t.Fatalf("%s did not stop within %s of SIGTERM", p.name, within)
	}
}

// waitFor polls cond until it holds, or fails the test after within.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get is the body of url, or "" while it cannot be had.
func get(url string) string {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// logString is the process's log so far.
func (p *proc) logString() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}
