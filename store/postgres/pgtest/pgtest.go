// Package pgtest gives tests a PostgreSQL database of their own: created
// on the server that HOSTWATCH_TEST_POSTGRES names (by default the local
// one, postgres://postgres@127.0.0.1:5432/test) and dropped when the test
// ends. Where no server answers the test is skipped, unless
// HOSTWATCH_POSTGRES=required, as in CI, where it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultServer is the server tests use unless HOSTWATCH_TEST_POSTGRES
// names another.
const DefaultServer = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Server is the URL of the server tests use.
func Server() string {
	if s := os.Getenv("HOSTWATCH_TEST_POSTGRES"); s != "" {
		return s
	}
	return DefaultServer
}

// Database creates a new, empty database and returns its URL; it is
// dropped, with whatever still holds a connection to it, when t ends.
func Database(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, Server())
	if err != nil {
		if os.Getenv("HOSTWATCH_POSTGRES") == "required" {
			t.Fatalf("PostgreSQL is required (HOSTWATCH_POSTGRES=required) and does not answer: %v", err)
		}
		t.Skipf("no PostgreSQL server answers (set HOSTWATCH_TEST_POSTGRES to one): %v", err)
	}
	defer admin.Close(context.Background())
	suffix := make([]byte, 6)
	rand.Read(suffix)
	name := "hostwatch_test_" + hex.EncodeToString(suffix)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, Server())
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer admin.Close(context.Background())
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(Server())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
