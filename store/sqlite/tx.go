package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

type tx struct {
	db *DB
	tx *sql.Tx
	// chain are the entries of the rows written, appended to the chain
	// at the commit.
	chain []store.ChainEntry
	// stmts are the hot statements bound to this transaction, bound once
	// each: database/sql keeps every binding until the commit, and a
	// batch of 100,000 aggregates bound afresh per row held as many.
	stmts map[string]*sql.Stmt
}

// The statements the writer runs for nearly every probe it records,
// prepared once at Open.
const (
	// A failure belongs to its check's open incident, if one is.
	qInsertFailure = `INSERT INTO probe_failures VALUES (?, ?, ?, ?, ?, ?,
		(SELECT id FROM incidents WHERE check_id = ? AND resolved_at IS NULL))`
	// qSummarize counts a failure in the summary of its check's open
	// incident: the count always, the first and last where it is earlier
	// or later than those.
	qSummarize = `INSERT INTO incident_errors SELECT id, ?, 1, ?, ?, ?, ? FROM incidents WHERE check_id = ? AND resolved_at IS NULL
		ON CONFLICT (incident_id, kind) DO UPDATE SET count = count + 1,
		first_error = CASE WHEN excluded.first_at < first_at THEN excluded.first_error ELSE first_error END,
		first_at = min(first_at, excluded.first_at),
		last_error = CASE WHEN excluded.last_at >= last_at THEN excluded.last_error ELSE last_error END,
		last_at = max(last_at, excluded.last_at)`
	qAddStats = `INSERT INTO probe_stats VALUES (?, ?, 1, ?, ?, ?, ?)
		ON CONFLICT (check_id, period) DO UPDATE SET ok = ok + excluded.ok, failed = failed + excluded.failed,
		latency_sum_us = latency_sum_us + excluded.latency_sum_us,
		latency_max_us = max(latency_max_us, excluded.latency_max_us)`
	// A state is not saved over one that follows a later probe. The
	// first probe is the earliest given (SQLite's min is NULL when an
	// argument is); a state refused as stale leaves it, but its change of
	// state, if it made one, keeps the time: see FirstSeen.
	qSaveState = `UPDATE checks SET state = ?, since = ?, fail_streak = ?, ok_streak = ?, streak_since = ?, probed_at = ?,
		first_probed_at = coalesce(min(first_probed_at, ?), first_probed_at, ?)
		WHERE id = ? AND (probed_at IS NULL OR ? IS NULL OR probed_at <= ?)`
)

var hotQueries = []string{qInsertFailure, qSummarize, qAddStats, qSaveState, qEnqueue, qMarkSent, qMarkRetry, qMarkFailed}

// exec runs a statement in the transaction, through its prepared form when
// it is one of the hot ones.
func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if stmt, ok := t.stmts[query]; ok {
		return stmt.ExecContext(ctx, args...)
	}
	if stmt, ok := t.db.stmts[query]; ok {
		bound := t.tx.StmtContext(ctx, stmt)
		if t.stmts == nil {
			t.stmts = make(map[string]*sql.Stmt, len(hotQueries))
		}
		t.stmts[query] = bound
		return bound.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *tx) SaveCheckState(ctx context.Context, s store.CheckState) error {
	id, err := t.db.checkID(s.Check)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, qSaveState,
		string(s.State), ms(s.Since), s.FailStreak, s.OKStreak, ms(s.StreakSince), ms(s.Probed), ms(s.First), ms(s.First),
		id, ms(s.Probed), ms(s.Probed))
	if err != nil {
		return fmt.Errorf("save state of %s: %w", s.Check, err)
	}
	return nil
}

func (t *tx) AddStateChange(ctx context.Context, c store.StateChange) error {
	id, err := t.db.checkID(c.Check)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO state_changes VALUES (?, ?, ?, ?, ?)`,
		id, ms(c.At), string(c.From), string(c.To), nullID(c.Incident))
	if err != nil {
		return fmt.Errorf("record state change of %s: %w", c.Check, err)
	}
	t.chain = append(t.chain, store.StateChangeEntry(c))
	return nil
}

func (t *tx) AddFailures(ctx context.Context, fs []store.Failure) error {
	for _, f := range fs {
		id, err := t.db.checkID(f.Check)
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, qInsertFailure,
			id, ms(f.At), f.Latency.Microseconds(), f.Kind, f.Error, f.Evidence, id); err != nil {
			return fmt.Errorf("record failure of %s: %w", f.Check, err)
		}
		if _, err := t.exec(ctx, qSummarize, f.Kind, ms(f.At), f.Error, ms(f.At), f.Error, id); err != nil {
			return fmt.Errorf("summarize failure of %s: %w", f.Check, err)
		}
		t.chain = append(t.chain, store.FailureEntry(f))
	}
	return nil
}

func (t *tx) AddStats(ctx context.Context, ss []store.Stat) error {
	if len(ss) == 0 {
		return nil
	}
	for _, s := range ss {
		id, err := t.db.checkID(s.Check)
		if err != nil {
			return err
		}
		period := s.Period.Truncate(time.Hour)
		if _, err := t.exec(ctx, qAddStats,
			id, ms(period), s.OK, s.Failed, s.LatencySum.Microseconds(), s.LatencyMax.Microseconds()); err != nil {
			return fmt.Errorf("record stats of %s: %w", s.Check, err)
		}
	}
	return nil
}

func (t *tx) OpenIncident(ctx context.Context, check string, start, confirmed time.Time) (int64, bool, error) {
	id, err := t.db.checkID(check)
	if err != nil {
		return 0, false, err
	}
	res, err := t.exec(ctx, `INSERT INTO incidents (check_id, started_at, confirmed_at) VALUES (?, ?, ?)
		ON CONFLICT (check_id) WHERE resolved_at IS NULL DO NOTHING`, id, ms(start), ms(confirmed))
	if err != nil {
		return 0, false, fmt.Errorf("open incident for %s: %w", check, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var open int64
		err := t.tx.QueryRowContext(ctx, `SELECT id FROM incidents WHERE check_id = ? AND resolved_at IS NULL`, id).Scan(&open)
		if err != nil {
			return 0, false, fmt.Errorf("open incident for %s: %w", check, err)
		}
		return open, false, nil
	}
	n, err := res.LastInsertId()
	if err != nil {
		return 0, false, err
	}
	// The failures that led to the incident are part of it.
	if _, err := t.exec(ctx, `UPDATE probe_failures SET incident_id = ?
		WHERE check_id = ? AND at >= ? AND incident_id IS NULL`, n, id, ms(start)); err != nil {
		return 0, false, fmt.Errorf("claim failures for #%d: %w", n, err)
	}
	if _, err := t.exec(ctx, `INSERT INTO incident_errors
		SELECT f.incident_id, f.kind, count(*),
			min(f.at), (SELECT error FROM probe_failures x WHERE x.check_id = f.check_id AND x.incident_id = f.incident_id AND x.kind = f.kind ORDER BY x.at LIMIT 1),
			max(f.at), (SELECT error FROM probe_failures x WHERE x.check_id = f.check_id AND x.incident_id = f.incident_id AND x.kind = f.kind ORDER BY x.at DESC LIMIT 1)
		FROM probe_failures f WHERE f.check_id = ? AND f.incident_id = ? GROUP BY f.kind`, id, n); err != nil {
		return 0, false, fmt.Errorf("summarize failures for #%d: %w", n, err)
	}
	return n, true, nil
}

func (t *tx) ResolveOpen(ctx context.Context, check string, end time.Time, by string) (int64, error) {
	id, err := t.db.checkID(check)
	if err != nil {
		return 0, err
	}
	var n int64
	err = t.tx.QueryRowContext(ctx, `UPDATE incidents SET resolved_at = ?, resolved_by = ?
		WHERE check_id = ? AND resolved_at IS NULL RETURNING id`, ms(end), by, id).Scan(&n)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("resolve the incident of %s: %w", check, err)
	}
	return n, nil
}

func (t *tx) Incidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error) {
	return incidents(ctx, t.tx, f)
}

func (t *tx) Alert(ctx context.Context, id int64) (store.Alert, error) {
	return alert(ctx, t.tx, id)
}

func (t *tx) Silences(ctx context.Context, at time.Time) ([]store.Silence, error) {
	return silences(ctx, t.tx, at)
}

func (t *tx) ResolveIncident(ctx context.Context, id int64, end time.Time, by string) error {
	res, err := t.exec(ctx, `UPDATE incidents SET resolved_at = ?, resolved_by = ? WHERE id = ? AND resolved_at IS NULL`,
		ms(end), by, id)
	if err != nil {
		return fmt.Errorf("resolve #%d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("resolve #%d: %w (or already resolved)", id, store.ErrNotFound)
	}
	return nil
}

func (t *tx) Acknowledge(ctx context.Context, id int64, by string, at time.Time) error {
	var ackAt, ackBy any
	if by != "" {
		ackAt, ackBy = ms(at), by
	}
	res, err := t.exec(ctx, `UPDATE incidents SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ? AND resolved_at IS NULL`,
		ackAt, ackBy, id)
	if err != nil {
		return fmt.Errorf("acknowledge #%d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("acknowledge #%d: %w", id, store.ErrNotFound)
	}
	t.chain = append(t.chain, store.AckEntry(id, by, at))
	return nil
}

func (t *tx) SaveAlert(ctx context.Context, a *store.Alert) error {
	args := []any{a.Scope, a.Name, ms(a.Opened), ms(a.FlushAt), ms(a.Base), a.Run, a.Step, ms(a.NextAt),
		ms(a.Triggered), ms(a.AckAt), nullString(a.AckBy), a.Told, ms(a.Closed), a.Peak, ms(a.Since)}
	if a.ID == 0 {
		res, err := t.exec(ctx, `INSERT INTO alerts (scope, name, opened_at, flush_at, base_at, run, step, next_at,
			triggered_at, acked_at, acked_by, told, closed_at, peak, since_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		if err != nil {
			return fmt.Errorf("open alert for %s: %w", a.Name, err)
		}
		a.ID, err = res.LastInsertId()
		return err
	}
	_, err := t.exec(ctx, `UPDATE alerts SET scope = ?, name = ?, opened_at = ?, flush_at = ?, base_at = ?, run = ?,
		step = ?, next_at = ?, triggered_at = ?, acked_at = ?, acked_by = ?, told = ?, closed_at = ?, peak = ?,
		since_at = ? WHERE id = ?`,
		append(args, a.ID)...)
	if err != nil {
		return fmt.Errorf("save alert %d: %w", a.ID, err)
	}
	return nil
}

func (t *tx) SetFlapping(ctx context.Context, check string, since time.Time) error {
	id, err := t.db.checkID(check)
	if err != nil {
		return err
	}
	if since.IsZero() {
		_, err = t.exec(ctx, `DELETE FROM flapping WHERE check_id = ?`, id)
	} else {
		_, err = t.exec(ctx, `INSERT INTO flapping VALUES (?, ?) ON CONFLICT (check_id) DO NOTHING`, id, ms(since))
	}
	if err != nil {
		return fmt.Errorf("record flapping of %s: %w", check, err)
	}
	return nil
}

func (t *tx) JoinAlert(ctx context.Context, incident, alert int64) error {
	if _, err := t.exec(ctx, `UPDATE incidents SET alert_id = ? WHERE id = ?`, alert, incident); err != nil {
		return fmt.Errorf("add #%d to alert %d: %w", incident, alert, err)
	}
	return nil
}

func (t *tx) Announce(ctx context.Context, incident int64, at time.Time) error {
	if _, err := t.exec(ctx, `UPDATE incidents SET announced_at = ? WHERE id = ? AND announced_at IS NULL`, ms(at), incident); err != nil {
		return fmt.Errorf("announce #%d: %w", incident, err)
	}
	return nil
}

func (t *tx) AddSilence(ctx context.Context, s *store.Silence) error {
	res, err := t.exec(ctx, `INSERT INTO silences (target, starts_at, ends_at, reason, created_by) VALUES (?, ?, ?, ?, ?)`,
		s.Target, ms(s.Start), ms(s.End), s.Reason, s.By)
	if err != nil {
		return fmt.Errorf("silence %s: %w", s.Target, err)
	}
	s.ID, err = res.LastInsertId()
	return err
}

func (t *tx) LiftSilence(ctx context.Context, id int64, by string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE silences SET lifted_at = ?, lifted_by = ? WHERE id = ? AND lifted_at IS NULL AND ends_at > ?`,
		ms(at), by, id, ms(at))
	if err != nil {
		return fmt.Errorf("lift silence %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("silence %d: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t *tx) AddWindow(ctx context.Context, w store.Window) error {
	if _, err := t.exec(ctx, `INSERT INTO maintenance_windows VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		w.Name, ms(w.Start), ms(w.End), strings.Join(w.Targets, " ")); err != nil {
		return fmt.Errorf("record maintenance window %s: %w", w.Name, err)
	}
	return nil
}

func (t *tx) AddEvent(ctx context.Context, e store.Event) error {
	if _, err := t.exec(ctx, `INSERT INTO incident_events VALUES (?, ?, ?, ?)`,
		e.Incident, ms(e.At), e.Kind, e.Detail); err != nil {
		return fmt.Errorf("add %s event to #%d: %w", e.Kind, e.Incident, err)
	}
	t.chain = append(t.chain, store.EventEntry(e))
	return nil
}

func (t *tx) LastPost(ctx context.Context, name string) (time.Time, string, error) {
	var at sql.NullInt64
	var value string
	err := t.tx.QueryRowContext(ctx, `SELECT at, value FROM posts WHERE name = ?`, name).Scan(&at, &value)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, "", nil
	}
	if err != nil {
		return time.Time{}, "", fmt.Errorf("last post of %s: %w", name, err)
	}
	return fromMS(at), value, nil
}

func (t *tx) SetPost(ctx context.Context, name string, at time.Time, value string) error {
	if _, err := t.exec(ctx, `INSERT INTO posts VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at, value = excluded.value`,
		name, at.UnixMilli(), value); err != nil {
		return fmt.Errorf("record post of %s: %w", name, err)
	}
	return nil
}
