package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// record is the store hostwatch runs on in a measurement: a SQLite file in
// the run's folder, or a new database on a PostgreSQL server, dropped at
// the end.
type record struct {
	driver  string // sqlite or postgres
	storage string // the config's storage section
	db      *sql.DB
	name    string // the PostgreSQL database
	admin   *sql.DB
}

func newRecord(dir, pgServer string) *record {
	if pgServer == "" {
		path := filepath.Join(dir, "hostwatch.db")
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
		if err != nil {
			log.Fatal(err)
		}
		return &record{driver: "sqlite", storage: fmt.Sprintf("{dsn: %q}", path), db: db}
	}
	admin, err := sql.Open("pgx", pgServer)
	if err != nil {
		log.Fatal(err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	r := &record{driver: "postgres", admin: admin, name: "hostwatch_bench_" + hex.EncodeToString(b)}
	if _, err := admin.Exec("CREATE DATABASE " + r.name); err != nil {
		log.Fatal("create the bench's database: ", err)
	}
	u, err := url.Parse(pgServer)
	if err != nil {
		log.Fatal(err)
	}
	u.Path = "/" + r.name
	r.storage = fmt.Sprintf("{driver: postgres, dsn: %q}", u.String())
	if r.db, err = sql.Open("pgx", u.String()); err != nil {
		log.Fatal(err)
	}
	return r
}

func (r *record) drop() {
	r.db.Close()
	if r.admin != nil {
		r.admin.Exec("DROP DATABASE IF EXISTS " + r.name + " WITH (FORCE)")
		r.admin.Close()
	}
}

// serverCPU is the CPU time the PostgreSQL backends serving the bench's
// database have used so far (0 on SQLite, whose work is in hostwatch's
// process).
func (r *record) serverCPU() time.Duration {
	if r.admin == nil {
		return 0
	}
	rows, err := r.admin.Query(`SELECT pid FROM pg_stat_activity WHERE datname = $1`, r.name)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	var sum time.Duration
	for rows.Next() {
		var pid int
		rows.Scan(&pid)
		sum += cpuTime(pid)
	}
	return sum
}

// seconds is a time column as seconds since the epoch, in each dialect.
func (r *record) seconds(expr string) string {
	if r.driver == "postgres" {
		return "extract(epoch FROM " + expr + ")"
	}
	return "(" + expr + ") / 1000.0"
}

// measureOutage fails every shop at once and reports how soon after the
// last confirming probe every incident was open and every merchant's
// first message queued.
func measureOutage(r *record, target string, n int, every time.Duration) {
	if _, err := http.Post("http://"+target+"/fail", "", nil); err != nil {
		log.Fatal(err)
	}
	switched := time.Now()
	ctx := context.Background()
	for {
		var open, told int
		err := r.db.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM incidents WHERE resolved_at IS NULL),
			(SELECT count(*) FROM alerts a WHERE a.scope = 'merchant'
				AND EXISTS (SELECT 1 FROM outbox o WHERE o.alert_id = a.id AND o.op = 'send'))`).Scan(&open, &told)
		if err == nil && open == n && told == n {
			break
		}
		if time.Since(switched) > 5*time.Minute {
			log.Fatalf("after 5 minutes %d of %d incidents open, %d merchants told (%v)", open, n, told, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var lastConfirmed, lastOpened, worstOpen, lastTold float64
	err := r.db.QueryRowContext(ctx, `SELECT `+r.seconds("max(i.confirmed_at)")+`, `+r.seconds("max(e.at)")+`, `+
		r.worst()+` FROM incidents i JOIN incident_events e ON e.incident_id = i.id AND e.kind = 'opened'`).
		Scan(&lastConfirmed, &lastOpened, &worstOpen)
	if err != nil {
		log.Fatal(err)
	}
	err = r.db.QueryRowContext(ctx, `SELECT `+r.seconds("max(first)")+` FROM (SELECT min(created_at) AS first FROM outbox
		WHERE op = 'send' AND alert_id IN (SELECT id FROM alerts WHERE scope = 'merchant') GROUP BY alert_id) f`).Scan(&lastTold)
	if err != nil {
		log.Fatal(err)
	}
	at := func(s float64) time.Duration { return time.Unix(0, int64(s*1e9)).Sub(switched).Round(time.Millisecond) }
	fmt.Printf("hostwatch on %s: %d checks every %v, all failing at once from +0 (down_after 3, group_wait 0s)\n", r.driver, n, every)
	fmt.Printf("  last confirming probe   +%v\n", at(lastConfirmed))
	fmt.Printf("  every incident open     +%v (%v after the last confirming probe; each at most %v after its own)\n",
		at(lastOpened), at(lastOpened)-at(lastConfirmed), time.Duration(worstOpen*1e9).Round(time.Millisecond))
	fmt.Printf("  every merchant's message queued  +%v (%v after the last confirming probe)\n", at(lastTold), at(lastTold)-at(lastConfirmed))
}

// worst is the longest wait of an incident between its confirming probe
// and its opening.
func (r *record) worst() string {
	if r.driver == "postgres" {
		return "extract(epoch FROM max(e.at - i.confirmed_at))"
	}
	return "max(e.at - i.confirmed_at) / 1000.0"
}
