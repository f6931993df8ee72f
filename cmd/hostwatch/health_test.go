package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hostwatch/hostwatch/store"
	"github.com/hostwatch/hostwatch/store/postgres/pgtest"
	"github.com/hostwatch/hostwatch/store/sqlite"
)

// tmpfs mounts a file system of size bytes of its own in a temporary
// folder, for a test to fill. It needs root; without, the test is skipped.
func tmpfs(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// healthOf reads /healthz: its status code and body.
func healthOf(url string) (int, health) {
	var h health
	resp, err := http.Get(url)
	if err != nil {
		return 0, h
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	json.Unmarshal(body, &h)
	return resp.StatusCode, h
}

type health struct {
	Status, Store, Reason string
	Since                 *time.Time
}

// TestHealthzWhileTheDiskIsFull: the record lives on a small tmpfs. With
// an outage being written, the disk is filled: /healthz says 503, why and
// since when, within 10 s; space returns and it says 200 again; what was
// committed before is all there, and the outage's failures go on being
// recorded in the same incident.
func TestHealthzWhileTheDiskIsFull(t *testing.T) {
	disk := tmpfs(t, 4<<20)
	shop, down := newShop(t)
	dir := t.TempDir()
	listen := freeAddr(t)
	db := filepath.Join(disk, "h.db")
	cfg := writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
storage: {dsn: %q}
http: {listen: %q}
defaults: {schedule: "@every 1s", down_after: 1, up_after: 1, timeout: 2s, group_wait: 0s}
merchants:
  - name: kim-shop
    checks:
      - {name: storefront, http: {url: "%s/", contains: cart}}
`, db, listen, shop.URL))
	p := startDaemon(t, dir, cfg)
	healthz := "http://" + listen + "/healthz"
	waitHTTP(t, healthz, `"status":"ok"`)
	if out, stderr, code := hostwatch(t, "healthcheck", "-url", healthz); code != 0 {
		t.Errorf("healthcheck of a healthy daemon: exit %d: %s%s", code, out, stderr)
	}
	down.Store(true)
	p.waitLine(t, "DOWN kim-shop/storefront is down: Incident #1,")
	before := failuresOf(t, db)

	fill, err := os.Create(filepath.Join(disk, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(fill, io.LimitReader(zeros{}, 8<<20)) // until the disk is full
	fill.Close()
	full := time.Now()
	var h health
	eventually(t, "a 503", func() bool {
		var code int
		code, h = healthOf(healthz)
		return code == http.StatusServiceUnavailable
	})
	if took := time.Since(full); took > 10*time.Second {
		t.Errorf("503 came %v after the disk filled, want within 10s", took)
	}
	if h.Status != "unhealthy" || h.Store != "refusing writes" || h.Reason != "database or disk is full" || h.Since == nil {
		t.Errorf("healthz while full: %+v", h)
	}
	if _, stderr, code := hostwatch(t, "healthcheck", "-url", healthz); code != 1 || !strings.Contains(stderr, "refusing writes: database or disk is full") {
		t.Errorf("healthcheck while the disk is full: exit %d: %s", code, stderr)
	}

	os.Remove(filepath.Join(disk, "fill"))
	eventually(t, "a 200 again", func() bool { code, _ := healthOf(healthz); return code == http.StatusOK })
	// Written again: the outage's failures keep being counted.
	eventually(t, "failures recorded again", func() bool { return failuresOf(t, db) > before+2 })
	p.stop(t)
	if _, stderr, code := hostwatch(t, "healthcheck", "-url", healthz); code != 1 || !strings.Contains(stderr, "connection refused") {
		t.Errorf("healthcheck of a stopped daemon: exit %d: %s", code, stderr)
	}
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ins, err := st.Incidents(context.Background(), store.IncidentFilter{})
	if err != nil || len(ins) != 1 || !ins[0].Open() || ins[0].ID != 1 {
		t.Errorf("incidents after the full disk: %+v, %v", ins, err)
	}
}

// failuresOf counts the failed probes recorded in incident #1.
func failuresOf(t *testing.T, db string) int {
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		return -1
	}
	defer st.Close()
	in, err := st.Incident(context.Background(), 1)
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range in.Errors {
		n += e.Count
	}
	return n
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// TestHealthzWhilePostgresIsReadOnly: the database turns read-only, as a
// standby does after a failover gone wrong: /healthz says 503, why and
// since when, within 10 s, and 200 again once it takes writes.
func TestHealthzWhilePostgresIsReadOnly(t *testing.T) {
	dsn := pgtest.Database(t)
	shop, _ := newShop(t)
	listen := freeAddr(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
storage: {driver: postgres, dsn: %q}
http: {listen: %q}
defaults: {schedule: "@every 1s"}
merchants:
  - name: kim-shop
    checks:
      - {name: storefront, http: {url: "%s/", contains: cart}}
`, dsn, listen, shop.URL))
	p := startDaemon(t, dir, cfg)
	healthz := "http://" + listen + "/healthz"
	waitHTTP(t, healthz, `"status":"ok"`)
	admin, err := pgx.Connect(context.Background(), pgtest.Server())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	name := strings.TrimPrefix(must(url.Parse(dsn)).Path, "/")
	readOnly := func(on bool) {
		t.Helper()
		for _, q := range []string{
			fmt.Sprintf("ALTER DATABASE %s SET default_transaction_read_only = %v", name, on),
			fmt.Sprintf("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'", name),
		} {
			if _, err := admin.Exec(context.Background(), q); err != nil {
				t.Fatal(err)
			}
		}
	}
	readOnly(true)
	began := time.Now()
	var h health
	eventually(t, "a 503", func() bool {
		var code int
		code, h = healthOf(healthz)
		// The connections cut to take the setting answer "shutting
		// down" first; the reason that stays is the read-only one.
		return code == http.StatusServiceUnavailable && h.Store == "refusing writes" && h.Reason == "the database is read-only (a standby?)"
	})
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("503 came %v after the database turned read-only", took)
	}
	if h.Reason != "the database is read-only (a standby?)" || h.Since == nil {
		t.Errorf("healthz while read-only: %+v", h)
	}
	readOnly(false)
	eventually(t, "a 200 again", func() bool { code, _ := healthOf(healthz); return code == http.StatusOK })
	p.stop(t)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
