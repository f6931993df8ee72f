package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hostwatch/hostwatch/store"
)

// tx is one transaction. Writes whose outcome the caller does not need
// wait in a batch, sent in one round trip before the next statement whose
// outcome it does, or before the commit.
type tx struct {
	db    *DB
	tx    pgx.Tx
	batch pgx.Batch
	what  []string // what each batched statement does, for its error
	// read reads a batched statement's result, nil for one whose rows
	// nobody needs.
	read []func(pgx.BatchResults) error
	// ids are numbers taken from a table's sequence for this transaction
	// and not used yet, by table.
	ids map[string][]int64
	// chain are the entries of the rows written, appended to the chain
	// at the commit; an entry whose kind is empty is a row a batched
	// statement did not write.
	chain []store.ChainEntry
}

// nextID numbers a new row of table (alerts, outbox) from its sequence,
// taking a block at a time: the numbers still rise in the order the rows
// are written, in this transaction and in every later one.
func (t *tx) nextID(ctx context.Context, table string) (int64, error) {
	if len(t.ids[table]) == 0 {
		rows, err := t.tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, 256)`, table)
		if err != nil {
			return 0, fmt.Errorf("number new %s: %w", table, err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return 0, fmt.Errorf("number new %s: %w", table, err)
		}
		if t.ids == nil {
			t.ids = map[string][]int64{}
		}
		t.ids[table] = ids
	}
	id := t.ids[table][0]
	t.ids[table] = t.ids[table][1:]
	return id, nil
}

// queue adds a write to the batch.
func (t *tx) queue(what, query string, args ...any) {
	t.queueRead(what, nil, query, args...)
}

// queueRead adds a statement to the batch whose result read reads.
func (t *tx) queueRead(what string, read func(pgx.BatchResults) error, query string, args ...any) {
	t.batch.Queue(query, args...)
	t.what = append(t.what, what)
	t.read = append(t.read, read)
}

// flush sends the batch and checks each of its results.
func (t *tx) flush(ctx context.Context) error {
	if t.batch.Len() == 0 {
		return nil
	}
	br := t.tx.SendBatch(ctx, &t.batch)
	var err error
	for i, what := range t.what {
		if read := t.read[i]; read != nil {
			err = read(br)
		} else {
			_, err = br.Exec()
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", what, err)
			break
		}
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	t.batch, t.what, t.read = pgx.Batch{}, nil, nil
	return err
}

// exec runs a statement now, after what is batched.
func (t *tx) exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	if err := t.flush(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return t.tx.Exec(ctx, query, args...)
}

// queryRow runs a query that returns one row now, after what is batched.
func (t *tx) queryRow(ctx context.Context, dest []any, query string, args ...any) error {
	if err := t.flush(ctx); err != nil {
		return err
	}
	return t.tx.QueryRow(ctx, query, args...).Scan(dest...)
}

// query runs a query now, after what is batched.
func (t *tx) query(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.tx.Query(ctx, query, args...)
}

func (t *tx) SaveCheckState(ctx context.Context, s store.CheckState) error {
	id, err := t.db.checkID(s.Check)
	if err != nil {
		return err
	}
	// A state is not saved over one that follows a later probe. The
	// first probe is the earliest given; a state refused as stale leaves
	// it, but its change of state, if it made one, keeps the time: see
	// FirstSeen.
	t.queue("save state of "+s.Check, `UPDATE checks SET state = $1, since = $2, fail_streak = $3, ok_streak = $4,
		streak_since = $5, probed_at = $6, first_probed_at = least(first_probed_at, $8)
		WHERE id = $7 AND (probed_at IS NULL OR $6::timestamptz IS NULL OR probed_at <= $6)`,
		string(s.State), ts(s.Since), s.FailStreak, s.OKStreak, ts(s.StreakSince), ts(s.Probed), id, ts(s.First))
	return nil
}

func (t *tx) AddStateChange(ctx context.Context, c store.StateChange) error {
	id, err := t.db.checkID(c.Check)
	if err != nil {
		return err
	}
	t.queue("record state change of "+c.Check, `INSERT INTO state_changes (check_id, at, from_state, to_state, incident_id)
		VALUES ($1, $2, $3, $4, $5)`, id, ts(c.At), string(c.From), string(c.To), nullID(c.Incident))
	t.chain = append(t.chain, store.StateChangeEntry(c))
	return nil
}

// qSummarize counts a failure in the summary of its check's open incident:
// the count always, the first and last where it is earlier or later than
// those.
const qSummarize = `INSERT INTO incident_errors AS e SELECT id, $2, 1, $3, $4, $3, $4 FROM incidents
	WHERE check_id = $1 AND resolved_at IS NULL
	ON CONFLICT (incident_id, kind) DO UPDATE SET count = e.count + 1,
	first_at = least(e.first_at, excluded.first_at),
	first_error = CASE WHEN excluded.first_at < e.first_at THEN excluded.first_error ELSE e.first_error END,
	last_at = greatest(e.last_at, excluded.last_at),
	last_error = CASE WHEN excluded.last_at >= e.last_at THEN excluded.last_error ELSE e.last_error END`

func (t *tx) AddFailures(ctx context.Context, fs []store.Failure) error {
	for _, f := range fs {
		id, err := t.db.checkID(f.Check)
		if err != nil {
			return err
		}
		// A failure belongs to its check's open incident, if one is.
		t.queue("record failure of "+f.Check, `INSERT INTO probe_failures VALUES ($1, $2, $3, $4, $5, $6,
			(SELECT id FROM incidents WHERE check_id = $1 AND resolved_at IS NULL))`,
			id, ts(f.At), f.Latency.Microseconds(), f.Kind, f.Error, f.Evidence)
		t.queue("summarize failure of "+f.Check, qSummarize, id, f.Kind, ts(f.At), f.Error)
		t.chain = append(t.chain, store.FailureEntry(f))
	}
	return nil
}

func (t *tx) AddStats(ctx context.Context, ss []store.Stat) error {
	for _, s := range ss {
		id, err := t.db.checkID(s.Check)
		if err != nil {
			return err
		}
		t.queue("record stats of "+s.Check, `INSERT INTO probe_stats AS s VALUES ($1, $2, 1, $3, $4, $5, $6)
			ON CONFLICT (check_id, period) DO UPDATE SET ok = s.ok + excluded.ok, failed = s.failed + excluded.failed,
			latency_sum_us = s.latency_sum_us + excluded.latency_sum_us,
			latency_max_us = greatest(s.latency_max_us, excluded.latency_max_us)`,
			id, ts(s.Period.Truncate(time.Hour)), s.OK, s.Failed, s.LatencySum.Microseconds(), s.LatencyMax.Microseconds())
	}
	return nil
}

func (t *tx) OpenIncident(ctx context.Context, check string, start, confirmed time.Time) (int64, bool, error) {
	id, err := t.db.checkID(check)
	if err != nil {
		return 0, false, err
	}
	var n int64
	err = t.queryRow(ctx, []any{&n}, `INSERT INTO incidents (check_id, started_at, confirmed_at) VALUES ($1, $2, $3)
		ON CONFLICT (check_id) WHERE resolved_at IS NULL DO NOTHING RETURNING id`, id, ts(start), ts(confirmed))
	if errors.Is(err, pgx.ErrNoRows) {
		// Open already: whoever opened it, it is the one.
		if err := t.queryRow(ctx, []any{&n}, `SELECT id FROM incidents WHERE check_id = $1 AND resolved_at IS NULL`, id); err != nil {
			return 0, false, fmt.Errorf("open incident for %s: %w", check, err)
		}
		return n, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("open incident for %s: %w", check, err)
	}
	// The failures that led to the incident are part of it.
	t.queue(fmt.Sprintf("claim failures for #%d", n), `UPDATE probe_failures SET incident_id = $1
		WHERE check_id = $2 AND at >= $3 AND incident_id IS NULL`, n, id, ts(start))
	t.queue(fmt.Sprintf("summarize failures for #%d", n), `INSERT INTO incident_errors
		SELECT $1, kind, count(*), min(at), (array_agg(error ORDER BY at))[1], max(at), (array_agg(error ORDER BY at DESC))[1]
		FROM probe_failures WHERE check_id = $2 AND incident_id = $1 GROUP BY kind`, n, id)
	return n, true, nil
}

func (t *tx) ResolveOpen(ctx context.Context, check string, end time.Time, by string) (int64, error) {
	id, err := t.db.checkID(check)
	if err != nil {
		return 0, err
	}
	var n int64
	err = t.queryRow(ctx, []any{&n}, `UPDATE incidents SET resolved_at = $1, resolved_by = $2
		WHERE check_id = $3 AND resolved_at IS NULL RETURNING id`, ts(end), by, id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("resolve the incident of %s: %w", check, err)
	}
	return n, nil
}

func (t *tx) Incidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return incidents(ctx, t.tx, f)
}

func (t *tx) Alert(ctx context.Context, id int64) (store.Alert, error) {
	if err := t.flush(ctx); err != nil {
		return store.Alert{}, err
	}
	return alert(ctx, t.tx, id)
}

func (t *tx) Silences(ctx context.Context, at time.Time) ([]store.Silence, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return silences(ctx, t.tx, at)
}

func (t *tx) ResolveIncident(ctx context.Context, id int64, end time.Time, by string) error {
	tag, err := t.exec(ctx, `UPDATE incidents SET resolved_at = $1, resolved_by = $2 WHERE id = $3 AND resolved_at IS NULL`,
		ts(end), by, id)
	if err != nil {
		return fmt.Errorf("resolve #%d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("resolve #%d: %w (or already resolved)", id, store.ErrNotFound)
	}
	return nil
}

func (t *tx) Acknowledge(ctx context.Context, id int64, by string, at time.Time) error {
	var ackAt, ackBy any
	if by != "" {
		ackAt, ackBy = ts(at), by
	}
	tag, err := t.exec(ctx, `UPDATE incidents SET acknowledged_at = $1, acknowledged_by = $2 WHERE id = $3 AND resolved_at IS NULL`,
		ackAt, ackBy, id)
	if err != nil {
		return fmt.Errorf("acknowledge #%d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("acknowledge #%d: %w", id, store.ErrNotFound)
	}
	t.chain = append(t.chain, store.AckEntry(id, by, at))
	return nil
}

func (t *tx) SaveAlert(ctx context.Context, a *store.Alert) error {
	args := []any{a.Scope, a.Name, ts(a.Opened), ts(a.FlushAt), ts(a.Base), a.Run, a.Step, ts(a.NextAt),
		ts(a.Triggered), ts(a.AckAt), nullString(a.AckBy), a.Told, ts(a.Closed), a.Peak, ts(a.Since)}
	if a.ID == 0 {
		id, err := t.nextID(ctx, "alerts")
		if err != nil {
			return err
		}
		a.ID = id
		t.queue("open alert for "+a.Name, `INSERT INTO alerts (scope, name, opened_at, flush_at, base_at, run, step, next_at,
			triggered_at, acked_at, acked_by, told, closed_at, peak, since_at, id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`, append(args, id)...)
		return nil
	}
	t.queue(fmt.Sprintf("save alert %d", a.ID), `UPDATE alerts SET scope = $1, name = $2, opened_at = $3, flush_at = $4,
		base_at = $5, run = $6, step = $7, next_at = $8, triggered_at = $9, acked_at = $10, acked_by = $11, told = $12,
		closed_at = $13, peak = $14, since_at = $15 WHERE id = $16`, append(args, a.ID)...)
	return nil
}

func (t *tx) SetFlapping(ctx context.Context, check string, since time.Time) error {
	id, err := t.db.checkID(check)
	if err != nil {
		return err
	}
	if since.IsZero() {
		t.queue("record flapping of "+check, `DELETE FROM flapping WHERE check_id = $1`, id)
	} else {
		t.queue("record flapping of "+check, `INSERT INTO flapping VALUES ($1, $2) ON CONFLICT (check_id) DO NOTHING`, id, ts(since))
	}
	return nil
}

func (t *tx) JoinAlert(ctx context.Context, incident, alert int64) error {
	t.queue(fmt.Sprintf("add #%d to alert %d", incident, alert), `UPDATE incidents SET alert_id = $1 WHERE id = $2`, alert, incident)
	return nil
}

func (t *tx) Announce(ctx context.Context, incident int64, at time.Time) error {
	t.queue(fmt.Sprintf("announce #%d", incident), `UPDATE incidents SET announced_at = $1 WHERE id = $2 AND announced_at IS NULL`,
		ts(at), incident)
	return nil
}

func (t *tx) AddSilence(ctx context.Context, s *store.Silence) error {
	if err := t.queryRow(ctx, []any{&s.ID}, `INSERT INTO silences (target, starts_at, ends_at, reason, created_by)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, s.Target, ts(s.Start), ts(s.End), s.Reason, s.By); err != nil {
		return fmt.Errorf("silence %s: %w", s.Target, err)
	}
	return nil
}

func (t *tx) LiftSilence(ctx context.Context, id int64, by string, at time.Time) error {
	tag, err := t.exec(ctx, `UPDATE silences SET lifted_at = $1, lifted_by = $2 WHERE id = $3 AND lifted_at IS NULL AND ends_at > $1`,
		ts(at), by, id)
	if err != nil {
		return fmt.Errorf("lift silence %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("silence %d: %w", id, store.ErrNotFound)
	}
	return nil
}

func (t *tx) AddWindow(ctx context.Context, w store.Window) error {
	t.queue("record maintenance window "+w.Name, `INSERT INTO maintenance_windows VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		w.Name, ts(w.Start), ts(w.End), strings.Join(w.Targets, " "))
	return nil
}

func (t *tx) AddEvent(ctx context.Context, e store.Event) error {
	t.queue(fmt.Sprintf("add %s event to #%d", e.Kind, e.Incident), `INSERT INTO incident_events (incident_id, at, kind, detail)
		VALUES ($1, $2, $3, $4)`, e.Incident, ts(e.At), e.Kind, e.Detail)
	t.chain = append(t.chain, store.EventEntry(e))
	return nil
}

// ts stores a time, the zero time as NULL.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// nullID stores 0 as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (t *tx) LastPost(ctx context.Context, name string) (time.Time, string, error) {
	if err := t.flush(ctx); err != nil {
		return time.Time{}, "", err
	}
	var at time.Time
	var value string
	err := t.tx.QueryRow(ctx, `SELECT at, value FROM posts WHERE name = $1`, name).Scan(&at, &value)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, "", nil
	}
	if err != nil {
		return time.Time{}, "", fmt.Errorf("last post of %s: %w", name, err)
	}
	return at, value, nil
}

func (t *tx) SetPost(ctx context.Context, name string, at time.Time, value string) error {
	t.queue("record post of "+name, `INSERT INTO posts VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET at = excluded.at, value = excluded.value`,
		name, at, value)
	return nil
}
