package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hostwatch/hostwatch/store"
)

// at reads a nullable time.
func at(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

const checkStateColumns = `c.name, c.state, c.since, c.fail_streak, c.ok_streak, c.streak_since, c.probed_at,
	c.first_probed_at, coalesce(i.id, 0) FROM checks c LEFT JOIN incidents i ON i.check_id = c.id AND i.resolved_at IS NULL`

func scanCheckState(row pgx.Row) (store.CheckState, error) {
	var s store.CheckState
	var state string
	var since, streakSince, probed, first *time.Time
	err := row.Scan(&s.Check, &state, &since, &s.FailStreak, &s.OKStreak, &streakSince, &probed, &first, &s.Incident)
	s.State, s.Since, s.StreakSince, s.Probed, s.First = store.State(state), at(since), at(streakSince), at(probed), at(first)
	return s, err
}

// CheckStates returns the saved state of every registered check.
func (db *DB) CheckStates(ctx context.Context) (map[string]store.CheckState, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+checkStateColumns)
	if err != nil {
		return nil, fmt.Errorf("load check states: %w", err)
	}
	out := map[string]store.CheckState{}
	_, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (struct{}, error) {
		s, err := scanCheckState(row)
		out[s.Check] = s
		return struct{}{}, err
	})
	if err != nil {
		return nil, fmt.Errorf("load check states: %w", err)
	}
	return out, nil
}

// CheckState returns the saved state of one check.
func (db *DB) CheckState(ctx context.Context, check string) (store.CheckState, error) {
	s, err := scanCheckState(db.pool.QueryRow(ctx, `SELECT `+checkStateColumns+` WHERE c.name = $1`, check))
	if errors.Is(err, pgx.ErrNoRows) {
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
	least((SELECT min(o.done_at) FROM outbox o WHERE o.incident_id = i.id AND o.op = 'send' AND o.state = 'sent'),
		(SELECT min(o.done_at) FROM outbox o WHERE o.alert_id = i.alert_id AND o.created_at >= i.announced_at
			AND o.op = 'send' AND o.state = 'sent')),
	(SELECT e.at FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'acknowledged' ORDER BY e.at, e.id LIMIT 1),
	coalesce((SELECT e.detail FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'acknowledged' ORDER BY e.at, e.id LIMIT 1), '')`

func scanIncident(row pgx.Row) (store.Incident, error) {
	var in store.Incident
	var start, confirmed, end, ack, announced, alerted, firstAck *time.Time
	err := row.Scan(&in.ID, &in.Check, &start, &confirmed, &end, &in.ResolvedBy, &ack, &in.AckBy, &in.Alert, &announced,
		&alerted, &firstAck, &in.FirstAckBy)
	in.Start, in.Confirmed, in.End, in.AckAt = at(start), at(confirmed), at(end), at(ack)
	in.Announced, in.Alerted, in.FirstAckAt = at(announced), at(alerted), at(firstAck)
	return in, err
}

// querier is what reads: the pool, or a transaction for reads that must
// see what it wrote.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Incidents lists incidents newest first, with their error summaries.
func (db *DB) Incidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error) {
	return incidents(ctx, db.pool, f)
}

func incidents(ctx context.Context, q querier, f store.IncidentFilter) ([]store.Incident, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.IDs != nil {
		where = append(where, "i.id = ANY("+arg(f.IDs)+"::bigint[])")
	}
	if f.Check != "" {
		where = append(where, "c.name = "+arg(f.Check))
	}
	if f.Alert != 0 {
		where = append(where, "i.alert_id = "+arg(f.Alert))
	}
	if f.Alerts != nil {
		where = append(where, "i.alert_id = ANY("+arg(f.Alerts)+"::bigint[])")
	}
	if f.Merchants != nil {
		where = append(where, "split_part(c.name, '/', 1) = ANY("+arg(f.Merchants)+"::text[])")
	}
	if f.OpenOnly {
		where = append(where, "i.resolved_at IS NULL")
	}
	if !f.Since.IsZero() {
		s := arg(f.Since)
		where = append(where, "(i.resolved_at IS NULL OR i.resolved_at >= "+s+" OR i.started_at >= "+s+")")
	}
	query := `SELECT ` + incidentColumns + ` FROM incidents i JOIN checks c ON c.id = i.check_id`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY i.id DESC"
	if f.Limit > 0 {
		query += " LIMIT " + arg(f.Limit)
	}
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Incident, error) { return scanIncident(row) })
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	if err := addErrors(ctx, q, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Incident returns incident id with its error summary.
func (db *DB) Incident(ctx context.Context, id int64) (store.Incident, error) {
	in, err := scanIncident(db.pool.QueryRow(ctx, `SELECT `+incidentColumns+`
		FROM incidents i JOIN checks c ON c.id = i.check_id WHERE i.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return in, fmt.Errorf("incident #%d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return in, fmt.Errorf("incident #%d: %w", id, err)
	}
	ins := []store.Incident{in}
	err = addErrors(ctx, db.pool, ins)
	return ins[0], err
}

// addErrors reads the error summaries of ins, in one query.
func addErrors(ctx context.Context, q querier, ins []store.Incident) error {
	if len(ins) == 0 {
		return nil
	}
	ids := make([]int64, len(ins))
	index := map[int64]int{}
	for i, in := range ins {
		ids[i], index[in.ID] = in.ID, i
	}
	rows, err := q.Query(ctx, `SELECT incident_id, kind, count, first_at, first_error, last_at, last_error
		FROM incident_errors WHERE incident_id = ANY($1) ORDER BY count DESC, kind`, ids)
	if err != nil {
		return fmt.Errorf("errors of incidents: %w", err)
	}
	var id int64
	var e store.ErrorSummary
	_, err = pgx.ForEachRow(rows, []any{&id, &e.Kind, &e.Count, &e.First, &e.FirstError, &e.Last, &e.LastError}, func() error {
		in := &ins[index[id]]
		in.Errors = append(in.Errors, e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("errors of incidents: %w", err)
	}
	return nil
}

// Events returns an incident's timeline, oldest first.
func (db *DB) Events(ctx context.Context, incident int64) ([]store.Event, error) {
	rows, err := db.pool.Query(ctx, `SELECT at, kind, detail FROM incident_events WHERE incident_id = $1 ORDER BY at, id`, incident)
	if err != nil {
		return nil, fmt.Errorf("timeline of #%d: %w", incident, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Event, error) {
		e := store.Event{Incident: incident}
		err := row.Scan(&e.At, &e.Kind, &e.Detail)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("timeline of #%d: %w", incident, err)
	}
	return out, nil
}

// StateChanges lists every check's state changes at or after since.
func (db *DB) StateChanges(ctx context.Context, since time.Time) ([]store.StateChange, error) {
	rows, err := db.pool.Query(ctx, `SELECT c.name, s.at, s.from_state, s.to_state, coalesce(s.incident_id, 0)
		FROM state_changes s JOIN checks c ON c.id = s.check_id WHERE s.at >= $1 ORDER BY s.at, s.id`, since)
	if err != nil {
		return nil, fmt.Errorf("state changes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.StateChange, error) {
		var c store.StateChange
		var from, to string
		err := row.Scan(&c.Check, &c.At, &from, &to, &c.Incident)
		c.From, c.To = store.State(from), store.State(to)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("state changes: %w", err)
	}
	return out, nil
}

// FirstSeen returns when each check was first probed: the first probe its
// state was saved with, or its first change of state when that is earlier
// (a change is dated by a probe too). Never the hour of an aggregate,
// which would count the minutes before the first probe as up.
func (db *DB) FirstSeen(ctx context.Context) (map[string]time.Time, error) {
	rows, err := db.pool.Query(ctx, `SELECT c.name, least(c.first_probed_at, s.at)
		FROM checks c LEFT JOIN (SELECT check_id, min(at) AS at FROM state_changes GROUP BY check_id) s ON s.check_id = c.id
		WHERE c.first_probed_at IS NOT NULL OR s.at IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("first probes: %w", err)
	}
	return namedTimes(rows, "first probes")
}

// Flapping returns the checks that are flapping, with since when.
func (db *DB) Flapping(ctx context.Context) (map[string]time.Time, error) {
	rows, err := db.pool.Query(ctx, `SELECT c.name, f.since FROM flapping f JOIN checks c ON c.id = f.check_id`)
	if err != nil {
		return nil, fmt.Errorf("flapping checks: %w", err)
	}
	return namedTimes(rows, "flapping checks")
}

func namedTimes(rows pgx.Rows, what string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	var name string
	var t time.Time
	if _, err := pgx.ForEachRow(rows, []any{&name, &t}, func() error { out[name] = t; return nil }); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

const alertColumns = `id, scope, name, opened_at, flush_at, base_at, run, step, next_at,
	triggered_at, acked_at, coalesce(acked_by, ''), told, closed_at, peak, since_at`

func scanAlert(row pgx.Row) (store.Alert, error) {
	var a store.Alert
	var flush, base, next, acked, closed, since *time.Time
	err := row.Scan(&a.ID, &a.Scope, &a.Name, &a.Opened, &flush, &base, &a.Run, &a.Step, &next,
		&a.Triggered, &acked, &a.AckBy, &a.Told, &closed, &a.Peak, &since)
	a.FlushAt, a.Base, a.NextAt, a.AckAt, a.Closed, a.Since = at(flush), at(base), at(next), at(acked), at(closed), at(since)
	return a, err
}

// OpenAlerts lists the alerts not closed, oldest first.
func (db *DB) OpenAlerts(ctx context.Context) ([]store.Alert, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE closed_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("open alerts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Alert, error) { return scanAlert(row) })
	if err != nil {
		return nil, fmt.Errorf("open alerts: %w", err)
	}
	return out, nil
}

// Alert returns one alert.
func (db *DB) Alert(ctx context.Context, id int64) (store.Alert, error) {
	return alert(ctx, db.pool, id)
}

func alert(ctx context.Context, q querier, id int64) (store.Alert, error) {
	a, err := scanAlert(q.QueryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("alert %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("alert %d: %w", id, err)
	}
	return a, nil
}

// Silences lists the silences neither lifted nor over at t.
func (db *DB) Silences(ctx context.Context, t time.Time) ([]store.Silence, error) {
	return silences(ctx, db.pool, t)
}

func silences(ctx context.Context, q querier, t time.Time) ([]store.Silence, error) {
	rows, err := q.Query(ctx, `SELECT id, target, starts_at, ends_at, reason, created_by FROM silences
		WHERE lifted_at IS NULL AND ends_at > $1 ORDER BY id`, t)
	if err != nil {
		return nil, fmt.Errorf("silences: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Silence, error) {
		var s store.Silence
		err := row.Scan(&s.ID, &s.Target, &s.Start, &s.End, &s.Reason, &s.By)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("silences: %w", err)
	}
	return out, nil
}

// Windows lists the maintenance windows that overlap [from, to).
func (db *DB) Windows(ctx context.Context, from, to time.Time) ([]store.Window, error) {
	rows, err := db.pool.Query(ctx, `SELECT name, starts_at, ends_at, targets FROM maintenance_windows
		WHERE starts_at < $1 AND ends_at > $2 ORDER BY starts_at, name`, to, from)
	if err != nil {
		return nil, fmt.Errorf("maintenance windows: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Window, error) {
		var w store.Window
		var targets string
		err := row.Scan(&w.Name, &w.Start, &w.End, &targets)
		w.Targets = strings.Fields(targets)
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("maintenance windows: %w", err)
	}
	return out, nil
}

// Failures lists a check's failed probes in [from, to), oldest first.
func (db *DB) Failures(ctx context.Context, check string, from, to time.Time) ([]store.Failure, error) {
	id, err := db.checkID(check)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT at, latency_us, kind, error, evidence, coalesce(incident_id, 0)
		FROM probe_failures WHERE check_id = $1 AND at >= $2 AND at < $3 ORDER BY at`, id, from, to)
	if err != nil {
		return nil, fmt.Errorf("failures of %s: %w", check, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Failure, error) {
		f := store.Failure{Check: check}
		var latency int64
		err := row.Scan(&f.At, &latency, &f.Kind, &f.Error, &f.Evidence, &f.Incident)
		f.Latency = time.Duration(latency) * time.Microsecond
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("failures of %s: %w", check, err)
	}
	return out, nil
}

// Stats lists a check's aggregates in [from, to), oldest first.
func (db *DB) Stats(ctx context.Context, check string, from, to time.Time) ([]store.Stat, error) {
	id, err := db.checkID(check)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT period, ok, failed, latency_sum_us, latency_max_us
		FROM probe_stats WHERE check_id = $1 AND period >= $2 AND period < $3 ORDER BY period`, id, from, to)
	if err != nil {
		return nil, fmt.Errorf("stats of %s: %w", check, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Stat, error) {
		s := store.Stat{Check: check}
		var sum, maxLatency int64
		err := row.Scan(&s.Period, &s.OK, &s.Failed, &sum, &maxLatency)
		s.LatencySum, s.LatencyMax = time.Duration(sum)*time.Microsecond, time.Duration(maxLatency)*time.Microsecond
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("stats of %s: %w", check, err)
	}
	return out, nil
}

// Compact rolls hourly aggregates older than store.HourlyStatsFor into one
// row per check and UTC day, and drops failed probes older than
// store.FailuresFor.
func (db *DB) Compact(ctx context.Context, now time.Time) error {
	cutoff := now.Add(-store.HourlyStatsFor).UTC().Truncate(24 * time.Hour)
	return db.Update(ctx, func(t store.Tx) error {
		tx := t.(*tx)
		steps := []struct {
			q    string
			args []any
		}{
			{`CREATE TEMP TABLE daily ON COMMIT DROP AS
				SELECT check_id, date_trunc('day', period AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS period, 24 AS period_hours,
				sum(ok)::bigint AS ok, sum(failed)::bigint AS failed, sum(latency_sum_us)::bigint AS latency_sum_us,
				max(latency_max_us) AS latency_max_us
				FROM probe_stats WHERE period_hours = 1 AND period < $1 GROUP BY 1, 2`, []any{cutoff}},
			{`DELETE FROM probe_stats WHERE period_hours = 1 AND period < $1`, []any{cutoff}},
			{`INSERT INTO probe_stats AS s SELECT * FROM daily
				ON CONFLICT (check_id, period) DO UPDATE SET ok = s.ok + excluded.ok, failed = s.failed + excluded.failed,
				latency_sum_us = s.latency_sum_us + excluded.latency_sum_us,
				latency_max_us = greatest(s.latency_max_us, excluded.latency_max_us)`, nil},
		}
		for _, s := range steps {
			if _, err := tx.exec(ctx, s.q, s.args...); err != nil {
				return fmt.Errorf("compact: %w", err)
			}
		}
		before := now.Add(-store.FailuresFor)
		tag, err := tx.exec(ctx, `DELETE FROM probe_failures WHERE at < $1`, before)
		if err != nil {
			return fmt.Errorf("compact: %w", err)
		}
		// The chain says which failures compaction dropped, so that
		// their entries still verify.
		if tag.RowsAffected() > 0 {
			tx.chain = append(tx.chain, store.CompactEntry(before, now))
		}
		return nil
	})
}
