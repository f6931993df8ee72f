//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrInUse is Lock refused: another daemon runs on the file.
type ErrInUse struct {
	Path string
	PID  int
}

func (e *ErrInUse) Error() string {
	return fmt.Sprintf("%s is in use by another hostwatch daemon (PID %d): one daemon at a time runs on a SQLite file; "+
		"stop that one, or run several instances on PostgreSQL (storage.driver: postgres)", e.Path, e.PID)
}

// Lock makes this process the one daemon that runs on the file, until
// Close: a second one is refused with an *ErrInUse naming the file and the
// holder's PID. The lock is on a file of its own beside the database (its
// path with ".lock"), taken with flock, so it ends with the process however
// the process ends. Readers (report, check) take no lock.
func (db *DB) Lock() error {
	path := db.path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("lock %s: %w", db.path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b := make([]byte, 32)
			n, _ := f.ReadAt(b, 0)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
			return &ErrInUse{Path: db.path, PID: pid}
		}
		return fmt.Errorf("lock %s: %w", db.path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	db.lock = f
	return nil
}
