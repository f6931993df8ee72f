package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// TestLoadFirstGivesTheCollectorBack reads the start's file, good and
// bad, and wants the collector at the daemon's pace after it either way.
func TestLoadFirstGivesTheCollectorBack(t *testing.T) {
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set: the collector is left alone")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(gcPercent))
	dir := t.TempDir()
	for name, text := range map[string]string{
		"good.yaml": "storage: {driver: sqlite, dsn: hw.db}\n",
		"bad.yaml":  "storage: {driver: oracle}\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadFirst(path)
		if (err == nil) != (name == "good.yaml") {
			t.Fatalf("%s: %v", name, err)
		}
		if got := debug.SetGCPercent(gcPercent); got != gcPercent {
			t.Errorf("after %s the collector is at GOGC %d, want %d", name, got, gcPercent)
		}
	}
}
