package store

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Migration is one numbered change of a store's schema.
type Migration struct {
	Version int
	Name    string // its file's name, 0004_alerts.sql
	SQL     string
}

// ReadMigrations reads the migrations in dir of fsys, each a file named
// for its number (0004_alerts.sql), in order.
func ReadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var out []Migration
	for _, f := range files {
		name := path.Base(f)
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its number", name)
		}
		body, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	return out, nil
}

// Unapplied are the migrations past version current, or an *ErrSchemaNewer
// when current is past them all.
func Unapplied(ms []Migration, current int) ([]Migration, error) {
	if latest := ms[len(ms)-1].Version; current > latest {
		return nil, &ErrSchemaNewer{Have: current, Know: latest}
	}
	i := slices.IndexFunc(ms, func(m Migration) bool { return m.Version > current })
	if i < 0 {
		return nil, nil
	}
	return ms[i:], nil
}

// Renew decides an instance's lease at a heartbeat: cur is the name's row
// as the store holds it (nil for none). It fails with an *ErrNameTaken when
// another run holds the name; else it returns inst with its lease renewed
// until now plus ttl, taking checks from when it joined, or, joining
// afresh, from now plus settle.
func Renew(cur *Instance, inst Instance, now time.Time, ttl, settle time.Duration) (Instance, error) {
	live := cur != nil && cur.Until.After(now)
	if live && cur.Token != inst.Token && cur.Token != inst.Replaces {
		return inst, &ErrNameTaken{Holder: *cur}
	}
	inst.Seen, inst.Until = now, now.Add(ttl)
	if live && cur.Token == inst.Token {
		inst.Since = cur.Since
	} else {
		inst.Since = now.Add(settle)
	}
	return inst, nil
}
