package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

const qEnqueue = `INSERT INTO outbox (created_at, destination, incident_id, alert_id, op, ref_id, payload, next_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

func (t *tx) Enqueue(ctx context.Context, items []store.OutboxItem) error {
	for _, it := range items {
		op := it.Op
		if op == "" {
			op = "send"
		}
		if _, err := t.exec(ctx, qEnqueue, ms(it.CreatedAt), it.Destination, nullID(it.Incident), nullID(it.Alert), op,
			nullID(it.Ref), it.Payload, ms(it.CreatedAt)); err != nil {
			return fmt.Errorf("enqueue message to %s: %w", it.Destination, err)
		}
	}
	return nil
}

func (t *tx) AlertSends(ctx context.Context, alert int64) ([]store.OutboxItem, error) {
	// Messages written before alerts existed are filed under their
	// incident only.
	rows, err := t.tx.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox
		WHERE op = 'send' AND (alert_id = ? OR (alert_id IS NULL
			AND incident_id IN (SELECT id FROM incidents WHERE alert_id = ?))) ORDER BY id`, alert, alert)
	if err != nil {
		return nil, fmt.Errorf("messages of alert %d: %w", alert, err)
	}
	defer rows.Close()
	var out []store.OutboxItem
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("messages of alert %d: %w", alert, err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

const outboxColumns = `id, created_at, destination, coalesce(incident_id, 0), coalesce(alert_id, 0), op,
	coalesce(ref_id, 0), payload, state, attempts, next_at, last_error, receipt`

func scanItem(sc interface{ Scan(...any) error }) (store.OutboxItem, error) {
	var it store.OutboxItem
	var created, next sql.NullInt64
	err := sc.Scan(&it.ID, &created, &it.Destination, &it.Incident, &it.Alert, &it.Op, &it.Ref, &it.Payload,
		&it.State, &it.Attempts, &next, &it.LastError, &it.Receipt)
	it.CreatedAt, it.NextAt = fromMS(created), fromMS(next)
	return it, err
}

// Pending lists pending items after an ID, oldest first.
func (db *DB) Pending(ctx context.Context, after int64, limit int) ([]store.OutboxItem, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox
		WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxItem
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Item returns one outbox item.
func (db *DB) Item(ctx context.Context, id int64) (store.OutboxItem, error) {
	it, err := scanItem(db.r.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("outbox item %d: %w", id, store.ErrNotFound)
	}
	return it, err
}

func (db *DB) mark(ctx context.Context, what string, id int64, query string, args ...any) error {
	return db.Update(ctx, func(t store.Tx) error {
		res, err := t.(*tx).exec(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("mark outbox item %d %s: %w", id, what, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("mark outbox item %d %s: %w", id, what, store.ErrNotFound)
		}
		return nil
	})
}

const (
	qMarkSent   = `UPDATE outbox SET state = 'sent', receipt = ?, done_at = ?, attempts = attempts + 1 WHERE id = ? AND state = 'pending'`
	qMarkRetry  = `UPDATE outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ? AND state = 'pending'`
	qMarkFailed = `UPDATE outbox SET state = 'failed', attempts = ?, last_error = ?, done_at = ? WHERE id = ? AND state = 'pending'`
)

// MarkSent records a delivery.
func (db *DB) MarkSent(ctx context.Context, id int64, receipt string, at time.Time) error {
	return db.mark(ctx, "sent", id, qMarkSent, receipt, ms(at), id)
}

// MarkRetry records a failed attempt.
func (db *DB) MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, lastErr string) error {
	return db.mark(ctx, "for retry", id, qMarkRetry, attempts, ms(next), lastErr, id)
}

// MarkFailed gives up on an item.
func (db *DB) MarkFailed(ctx context.Context, id int64, attempts int, lastErr string, at time.Time) error {
	return db.mark(ctx, "failed", id, qMarkFailed, attempts, lastErr, ms(at), id)
}
