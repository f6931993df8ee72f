package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

var t0 = time.Date(2026, 11, 25, 14, 2, 10, 0, time.UTC)

func open(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Register(context.Background(), []string{"shop/web", "shop/db"}); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestMigrationsRunOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db := open(t, path)
	db.Close()
	db = open(t, path) // a second start applies nothing again
	defer db.Close()
	files, _ := migrations.ReadDir("migrations")
	var n int
	var mode string
	if err := db.r.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(files) {
		t.Errorf("migrations applied: %d of %d, %v", n, len(files), err)
	}
	if err := db.r.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q, %v", mode, err)
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestPingAfterACorruptWrite: a write that meets a corrupted page makes
// Ping say the store refuses writes, and why, naming no file.
func TestPingAfterACorruptWrite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	db := open(t, path)
	err := db.Update(ctx, func(tx store.Tx) error {
		var fs []store.Failure
		for i := range 2000 {
			fs = append(fs, store.Failure{Check: "shop/web", At: t0.Add(time.Duration(i) * time.Second), Kind: "status",
				Error: "status 502, want 2xx", Evidence: string(make([]byte, 200))})
		}
		return tx.AddFailures(ctx, fs)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Scribble over pages in the middle of the file.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	junk := make([]byte, 16<<10)
	for i := range junk {
		junk[i] = byte(i*7 + 3)
	}
	f.WriteAt(junk, fi.Size()/2)
	f.Close()

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("before any write: %v", err)
	}
	err = db.Update(ctx, func(tx store.Tx) error {
		_, _, err := tx.OpenIncident(ctx, "shop/web", t0, t0.Add(time.Hour)) // claims every failure
		return err
	})
	if err == nil {
		t.Fatal("a write over a corrupted page succeeded")
	}
	var u *store.Unwritable
	if perr := db.Ping(ctx); !errors.As(perr, &u) || u.Reason != "database disk image is malformed" {
		t.Errorf("ping after %v: %v", err, perr)
	}
}

// TestSchemaNewer: a file a newer hostwatch migrated is refused, not
// written to.
func TestSchemaNewer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db := open(t, path)
	if _, err := db.w.Exec(`INSERT INTO schema_migrations VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := Open(context.Background(), path)
	var newer *store.ErrSchemaNewer
	if !errors.As(err, &newer) || newer.Have != 999 {
		t.Errorf("open: %v", err)
	}
}
