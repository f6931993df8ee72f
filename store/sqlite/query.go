package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

const checkStateColumns = `c.name, c.state, c.since, c.fail_streak, c.ok_streak, c.streak_since, c.probed_at, c.first_probed_at,
	coalesce((SELECT i.id FROM incidents i WHERE i.check_id = c.id AND i.resolved_at IS NULL), 0)`

func scanCheckState(sc interface{ Scan(...any) error }) (store.CheckState, error) {
	var s store.CheckState
	var state string
	var since, streakSince, probed, first sql.NullInt64
	err := sc.Scan(&s.Check, &state, &since, &s.FailStreak, &s.OKStreak, &streakSince, &probed, &first, &s.Incident)
	s.State, s.Since, s.StreakSince, s.Probed = store.State(state), fromMS(since), fromMS(streakSince), fromMS(probed)
	s.First = fromMS(first)
	return s, err
}

// CheckStates returns the saved state of every registered check.
func (db *DB) CheckStates(ctx context.Context) (map[string]store.CheckState, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+checkStateColumns+` FROM checks c`)
	if err != nil {
		return nil, fmt.Errorf("load check states: %w", err)
	}
	defer rows.Close()
	out := map[string]store.CheckState{}
	for rows.Next() {
		s, err := scanCheckState(rows)
		if err != nil {
			return nil, fmt.Errorf("load check states: %w", err)
		}
		out[s.Check] = s
	}
	return out, rows.Err()
}

// CheckState returns the saved state of one check.
func (db *DB) CheckState(ctx context.Context, check string) (store.CheckState, error) {
	s, err := scanCheckState(db.r.QueryRowContext(ctx, `SELECT `+checkStateColumns+` FROM checks c WHERE c.name = ?`, check))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("state of %s: %w", check, store.ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("state of %s: %w", check, err)
	}
	return s, nil
}

// incidentColumns are an incident's columns, with when a message first
// told of it and who acknowledged it first.
const incidentColumns = `i.id, c.name, i.started_at, i.confirmed_at, i.resolved_at, coalesce(i.resolved_by, ''),
	i.acknowledged_at, coalesce(i.acknowledged_by, ''), coalesce(i.alert_id, 0), i.announced_at,
	(SELECT min(t) FROM (SELECT min(o.done_at) AS t FROM outbox o WHERE o.incident_id = i.id AND o.op = 'send' AND o.state = 'sent'
		UNION ALL SELECT min(o.done_at) FROM outbox o WHERE o.alert_id = i.alert_id AND o.created_at >= i.announced_at
			AND o.op = 'send' AND o.state = 'sent')),
	(SELECT e.at FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'acknowledged' ORDER BY e.at, e.rowid LIMIT 1),
	coalesce((SELECT e.detail FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'acknowledged' ORDER BY e.at, e.rowid LIMIT 1), '')`

func scanIncident(sc interface{ Scan(...any) error }) (store.Incident, error) {
	var in store.Incident
	var start, confirmed, end, ack, announced, alerted, firstAck sql.NullInt64
	err := sc.Scan(&in.ID, &in.Check, &start, &confirmed, &end, &in.ResolvedBy, &ack, &in.AckBy, &in.Alert, &announced,
		&alerted, &firstAck, &in.FirstAckBy)
	in.Start, in.Confirmed, in.End, in.AckAt = fromMS(start), fromMS(confirmed), fromMS(end), fromMS(ack)
	in.Announced, in.Alerted, in.FirstAckAt = fromMS(announced), fromMS(alerted), fromMS(firstAck)
	return in, err
}

// queryer is what reads: the pool of readers, or the writer's transaction
// for reads that must see what it wrote.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Incidents lists incidents newest first, with their error summaries.
func (db *DB) Incidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error) {
	return incidents(ctx, db.r, f)
}

func incidents(ctx context.Context, q queryer, f store.IncidentFilter) ([]store.Incident, error) {
	var where []string
	var args []any
	if f.IDs != nil {
		where = append(where, "i.id IN ("+placeholders(len(f.IDs))+")")
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	if f.Check != "" {
		where = append(where, "c.name = ?")
		args = append(args, f.Check)
	}
	if f.Alert != 0 {
		where = append(where, "i.alert_id = ?")
		args = append(args, f.Alert)
	}
	if f.Alerts != nil {
		where = append(where, "i.alert_id IN (SELECT value FROM json_each(?))")
		ids, _ := json.Marshal(f.Alerts)
		args = append(args, string(ids))
	}
	if f.Merchants != nil {
		var or []string
		for _, m := range f.Merchants {
			or = append(or, "substr(c.name, 1, ?) = ?")
			args = append(args, len(m)+1, m+"/")
		}
		if len(or) == 0 {
			or = append(or, "false")
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	if f.OpenOnly {
		where = append(where, "i.resolved_at IS NULL")
	}
	if !f.Since.IsZero() {
		where = append(where, "(i.resolved_at IS NULL OR i.resolved_at >= ? OR i.started_at >= ?)")
		args = append(args, ms(f.Since), ms(f.Since))
	}
	query := `SELECT ` + incidentColumns + ` FROM incidents i JOIN checks c ON c.id = i.check_id`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY i.id DESC"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	var out []store.Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		out = append(out, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	if err := addErrors(ctx, q, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Incident returns incident id with its error summary.
func (db *DB) Incident(ctx context.Context, id int64) (store.Incident, error) {
	in, err := scanIncident(db.r.QueryRowContext(ctx, `SELECT `+incidentColumns+`
		FROM incidents i JOIN checks c ON c.id = i.check_id WHERE i.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return in, fmt.Errorf("incident #%d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return in, fmt.Errorf("incident #%d: %w", id, err)
	}
	ins := []store.Incident{in}
	err = addErrors(ctx, db.r, ins)
	return ins[0], err
}

// addErrors reads the error summaries of ins, a few hundred at a time.
func addErrors(ctx context.Context, q queryer, ins []store.Incident) error {
	index := map[int64]int{}
	for i, in := range ins {
		index[in.ID] = i
	}
	const chunk = 500
	for start := 0; start < len(ins); start += chunk {
		part := ins[start:min(start+chunk, len(ins))]
		args := make([]any, len(part))
		for i, in := range part {
			args[i] = in.ID
		}
		rows, err := q.QueryContext(ctx, `SELECT incident_id, kind, count, first_at, first_error, last_at, last_error
			FROM incident_errors WHERE incident_id IN (`+placeholders(len(part))+`) ORDER BY count DESC, kind`, args...)
		if err != nil {
			return fmt.Errorf("errors of incidents: %w", err)
		}
		for rows.Next() {
			var id int64
			var e store.ErrorSummary
			var first, last sql.NullInt64
			if err := rows.Scan(&id, &e.Kind, &e.Count, &first, &e.FirstError, &last, &e.LastError); err != nil {
				rows.Close()
				return fmt.Errorf("errors of incidents: %w", err)
			}
			e.First, e.Last = fromMS(first), fromMS(last)
			in := &ins[index[id]]
			in.Errors = append(in.Errors, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("errors of incidents: %w", err)
		}
	}
	return nil
}

// placeholders is "?, ?, ?" for n values.
func placeholders(n int) string {
	if n == 0 {
		return "NULL"
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// Events returns an incident's timeline, oldest first.
func (db *DB) Events(ctx context.Context, incident int64) ([]store.Event, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT at, kind, detail FROM incident_events WHERE incident_id = ? ORDER BY at, rowid`, incident)
	if err != nil {
		return nil, fmt.Errorf("timeline of #%d: %w", incident, err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		e := store.Event{Incident: incident}
		var at sql.NullInt64
		if err := rows.Scan(&at, &e.Kind, &e.Detail); err != nil {
			return nil, fmt.Errorf("timeline of #%d: %w", incident, err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// StateChanges lists every check's state changes at or after since.
func (db *DB) StateChanges(ctx context.Context, since time.Time) ([]store.StateChange, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT c.name, s.at, s.from_state, s.to_state, coalesce(s.incident_id, 0)
		FROM state_changes s JOIN checks c ON c.id = s.check_id WHERE s.at >= ? ORDER BY s.at, s.rowid`, ms(since))
	if err != nil {
		return nil, fmt.Errorf("state changes: %w", err)
	}
	defer rows.Close()
	var out []store.StateChange
	for rows.Next() {
		var c store.StateChange
		var at sql.NullInt64
		var from, to string
		if err := rows.Scan(&c.Check, &at, &from, &to, &c.Incident); err != nil {
			return nil, fmt.Errorf("state changes: %w", err)
		}
		c.At, c.From, c.To = fromMS(at), store.State(from), store.State(to)
		out = append(out, c)
	}
	return out, rows.Err()
}

// FirstSeen returns when each check was first probed: the first probe its
// state was saved with, or its first change of state when that is earlier
// (a change is dated by a probe too). Never the hour of an aggregate,
// which would count the minutes before the first probe as up.
func (db *DB) FirstSeen(ctx context.Context) (map[string]time.Time, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT c.name, min(coalesce(c.first_probed_at, s.at), coalesce(s.at, c.first_probed_at))
		FROM checks c LEFT JOIN (SELECT check_id, min(at) AS at FROM state_changes GROUP BY check_id) s ON s.check_id = c.id
		WHERE c.first_probed_at IS NOT NULL OR s.at IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("first probes: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var name string
		var at sql.NullInt64
		if err := rows.Scan(&name, &at); err != nil {
			return nil, fmt.Errorf("first probes: %w", err)
		}
		out[name] = fromMS(at)
	}
	return out, rows.Err()
}

// Flapping returns the checks that are flapping, with since when.
func (db *DB) Flapping(ctx context.Context) (map[string]time.Time, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT c.name, f.since FROM flapping f JOIN checks c ON c.id = f.check_id`)
	if err != nil {
		return nil, fmt.Errorf("flapping checks: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var name string
		var since sql.NullInt64
		if err := rows.Scan(&name, &since); err != nil {
			return nil, fmt.Errorf("flapping checks: %w", err)
		}
		out[name] = fromMS(since)
	}
	return out, rows.Err()
}

const alertColumns = `id, scope, name, opened_at, flush_at, base_at, run, step, next_at,
	triggered_at, acked_at, coalesce(acked_by, ''), told, closed_at, peak, since_at`

func scanAlert(sc interface{ Scan(...any) error }) (store.Alert, error) {
	var a store.Alert
	var opened, flush, base, next, triggered, acked, closed, since sql.NullInt64
	err := sc.Scan(&a.ID, &a.Scope, &a.Name, &opened, &flush, &base, &a.Run, &a.Step, &next,
		&triggered, &acked, &a.AckBy, &a.Told, &closed, &a.Peak, &since)
	a.Since = fromMS(since)
	a.Opened, a.FlushAt, a.Base, a.NextAt = fromMS(opened), fromMS(flush), fromMS(base), fromMS(next)
	a.Triggered, a.AckAt, a.Closed = fromMS(triggered), fromMS(acked), fromMS(closed)
	return a, err
}

// OpenAlerts lists the alerts not closed, oldest first.
func (db *DB) OpenAlerts(ctx context.Context) ([]store.Alert, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE closed_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("open alerts: %w", err)
	}
	defer rows.Close()
	var out []store.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("open alerts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Alert returns one alert.
func (db *DB) Alert(ctx context.Context, id int64) (store.Alert, error) {
	return alert(ctx, db.r, id)
}

func alert(ctx context.Context, q queryer, id int64) (store.Alert, error) {
	a, err := scanAlert(q.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("alert %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("alert %d: %w", id, err)
	}
	return a, nil
}

// Silences lists the silences neither lifted nor over at t.
func (db *DB) Silences(ctx context.Context, t time.Time) ([]store.Silence, error) {
	return silences(ctx, db.r, t)
}

func silences(ctx context.Context, q queryer, t time.Time) ([]store.Silence, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, target, starts_at, ends_at, reason, created_by FROM silences
		WHERE lifted_at IS NULL AND ends_at > ? ORDER BY id`, ms(t))
	if err != nil {
		return nil, fmt.Errorf("silences: %w", err)
	}
	defer rows.Close()
	var out []store.Silence
	for rows.Next() {
		var s store.Silence
		var start, end sql.NullInt64
		if err := rows.Scan(&s.ID, &s.Target, &start, &end, &s.Reason, &s.By); err != nil {
			return nil, fmt.Errorf("silences: %w", err)
		}
		s.Start, s.End = fromMS(start), fromMS(end)
		out = append(out, s)
	}
	return out, rows.Err()
}

// Windows lists the maintenance windows that overlap [from, to).
func (db *DB) Windows(ctx context.Context, from, to time.Time) ([]store.Window, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT name, starts_at, ends_at, targets FROM maintenance_windows
		WHERE starts_at < ? AND ends_at > ? ORDER BY starts_at, name`, ms(to), ms(from))
	if err != nil {
		return nil, fmt.Errorf("maintenance windows: %w", err)
	}
	defer rows.Close()
	var out []store.Window
	for rows.Next() {
		var w store.Window
		var start, end sql.NullInt64
		var targets string
		if err := rows.Scan(&w.Name, &start, &end, &targets); err != nil {
			return nil, fmt.Errorf("maintenance windows: %w", err)
		}
		w.Start, w.End, w.Targets = fromMS(start), fromMS(end), strings.Fields(targets)
		out = append(out, w)
	}
	return out, rows.Err()
}

// Failures lists a check's failed probes in [from, to), oldest first.
func (db *DB) Failures(ctx context.Context, check string, from, to time.Time) ([]store.Failure, error) {
	id, err := db.checkID(check)
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT at, latency_us, kind, error, evidence, coalesce(incident_id, 0)
		FROM probe_failures WHERE check_id = ? AND at >= ? AND at < ? ORDER BY at`, id, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("failures of %s: %w", check, err)
	}
	defer rows.Close()
	var out []store.Failure
	for rows.Next() {
		f := store.Failure{Check: check}
		var at sql.NullInt64
		var latency int64
		if err := rows.Scan(&at, &latency, &f.Kind, &f.Error, &f.Evidence, &f.Incident); err != nil {
			return nil, fmt.Errorf("failures of %s: %w", check, err)
		}
		f.At, f.Latency = fromMS(at), time.Duration(latency)*time.Microsecond
		out = append(out, f)
	}
	return out, rows.Err()
}

// Stats lists a check's aggregates in [from, to), oldest first.
func (db *DB) Stats(ctx context.Context, check string, from, to time.Time) ([]store.Stat, error) {
	id, err := db.checkID(check)
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT period, ok, failed, latency_sum_us, latency_max_us
		FROM probe_stats WHERE check_id = ? AND period >= ? AND period < ? ORDER BY period`, id, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("stats of %s: %w", check, err)
	}
	defer rows.Close()
	var out []store.Stat
	for rows.Next() {
		s := store.Stat{Check: check}
		var period sql.NullInt64
		var sum, maxLatency int64
		if err := rows.Scan(&period, &s.OK, &s.Failed, &sum, &maxLatency); err != nil {
			return nil, fmt.Errorf("stats of %s: %w", check, err)
		}
		s.Period = fromMS(period)
		s.LatencySum, s.LatencyMax = time.Duration(sum)*time.Microsecond, time.Duration(maxLatency)*time.Microsecond
		out = append(out, s)
	}
	return out, rows.Err()
}

// Compact rolls hourly aggregates older than store.HourlyStatsFor into one
// row per check and UTC day, and drops failed probes older than
// store.FailuresFor.
func (db *DB) Compact(ctx context.Context, now time.Time) error {
	const day = 24 * time.Hour
	cutoff := now.Add(-store.HourlyStatsFor).UTC().Truncate(day).UnixMilli()
	return db.Update(ctx, func(t store.Tx) error {
		st := t.(*tx)
		tx := st.tx
		const dayMS = int64(day / time.Millisecond)
		if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS daily AS SELECT * FROM probe_stats WHERE 0`); err != nil {
			return fmt.Errorf("compact stats: %w", err)
		}
		steps := []string{
			`DELETE FROM temp.daily`,
			fmt.Sprintf(`INSERT INTO temp.daily SELECT check_id, (period / %[1]d) * %[1]d, 24, sum(ok), sum(failed),
				sum(latency_sum_us), max(latency_max_us) FROM probe_stats
				WHERE period_hours = 1 AND period < %[2]d GROUP BY check_id, period / %[1]d`, dayMS, cutoff),
			fmt.Sprintf(`DELETE FROM probe_stats WHERE period_hours = 1 AND period < %d`, cutoff),
			`INSERT INTO probe_stats SELECT * FROM temp.daily WHERE true
				ON CONFLICT (check_id, period) DO UPDATE SET ok = ok + excluded.ok, failed = failed + excluded.failed,
				latency_sum_us = latency_sum_us + excluded.latency_sum_us,
				latency_max_us = max(latency_max_us, excluded.latency_max_us)`,
			`DELETE FROM temp.daily`,
		}
		for _, q := range steps {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("compact: %w", err)
			}
		}
		before := now.Add(-store.FailuresFor)
		res, err := tx.ExecContext(ctx, `DELETE FROM probe_failures WHERE at < ?`, before.UnixMilli())
		if err != nil {
			return fmt.Errorf("compact: %w", err)
		}
		// The chain says which failures compaction dropped, so that
		// their entries still verify.
		if n, _ := res.RowsAffected(); n > 0 {
			st.chain = append(st.chain, store.CompactEntry(before, now))
		}
		return nil
	})
}
