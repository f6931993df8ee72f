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
	for i := range items {
		it := &items[i]
		if it.Op == "" {
			it.Op = "send"
		}
		res, err := t.exec(ctx, qEnqueue, ms(it.CreatedAt), it.Destination, nullID(it.Incident), nullID(it.Alert), it.Op,
			nullID(it.Ref), it.Payload, ms(it.CreatedAt))
		if err == nil {
			it.ID, err = res.LastInsertId()
		}
		if err != nil {
			return fmt.Errorf("enqueue message to %s: %w", it.Destination, err)
		}
		it.State = store.Pending
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
	return db.pending(ctx, nil, after, limit)
}

// PendingTo lists the pending items of dests after an ID, oldest first.
func (db *DB) PendingTo(ctx context.Context, dests []string, after int64, limit int) ([]store.OutboxItem, error) {
	if len(dests) == 0 {
		return nil, nil
	}
	return db.pending(ctx, dests, after, limit)
}

// pending lists pending items, of dests unless nil.
func (db *DB) pending(ctx context.Context, dests []string, after int64, limit int) ([]store.OutboxItem, error) {
	where, args := "", []any{after}
	if dests != nil {
		where = " AND destination IN (" + placeholders(len(dests)) + ")"
		for _, d := range dests {
			args = append(args, d)
		}
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox
		WHERE state = 'pending' AND id > ?`+where+` ORDER BY id LIMIT ?`, append(args, limit)...)
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

// mark runs one marking statement on a pending item, and what else the
// mark calls for, in one transaction.
func (db *DB) mark(ctx context.Context, what string, id int64, query string, args []any, also func(*tx) error) error {
	return db.Update(ctx, func(t store.Tx) error {
		tx := t.(*tx)
		res, err := tx.exec(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("mark outbox item %d %s: %w", id, what, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("mark outbox item %d %s: %w", id, what, store.ErrNotFound)
		}
		if also != nil {
			if err := also(tx); err != nil {
				return fmt.Errorf("mark outbox item %d %s: %w", id, what, err)
			}
		}
		return nil
	})
}

const (
	qMarkSent   = `UPDATE outbox SET state = 'sent', receipt = ?, done_at = ?, attempts = attempts + 1 WHERE id = ? AND state = 'pending'`
	qMarkRetry  = `UPDATE outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ? AND state = 'pending'`
	qMarkFailed = `UPDATE outbox SET state = 'failed', attempts = ?, last_error = ?, done_at = ? WHERE id = ? AND state = 'pending'`
)

// MarkSent records a delivery, and when its destination last had one.
func (db *DB) MarkSent(ctx context.Context, id int64, receipt string, at time.Time) error {
	return db.mark(ctx, "sent", id, qMarkSent, []any{receipt, ms(at), id}, func(tx *tx) error {
		_, err := tx.exec(ctx, `UPDATE outbox_claims SET last_sent_at = ?
			WHERE destination = (SELECT destination FROM outbox WHERE id = ?)`, ms(at), id)
		return err
	})
}

// MarkRetry records a failed attempt.
func (db *DB) MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, lastErr string) error {
	return db.mark(ctx, "for retry", id, qMarkRetry, []any{attempts, ms(next), lastErr, id}, nil)
}

// MarkFailed gives up on an item.
func (db *DB) MarkFailed(ctx context.Context, id int64, attempts int, lastErr string, at time.Time) error {
	return db.mark(ctx, "failed", id, qMarkFailed, []any{attempts, lastErr, ms(at), id}, nil)
}

// Claim takes the destinations with pending messages that no other
// holder's claim covers; one writer at a time makes it atomic.
func (db *DB) Claim(ctx context.Context, holder string, ttl time.Duration, limit int) ([]store.Claim, error) {
	var out []store.Claim
	err := db.Update(ctx, func(t store.Tx) error {
		tx := t.(*tx)
		now := time.Now()
		if _, err := tx.exec(ctx, `INSERT INTO outbox_claims (destination) SELECT DISTINCT destination FROM outbox
			WHERE state = 'pending' ON CONFLICT (destination) DO NOTHING`); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE outbox_claims SET claimed_by = ?, claimed_until = ? WHERE destination IN (
			SELECT c.destination FROM outbox_claims c WHERE (c.claimed_by = ? OR c.claimed_until <= ?)
			AND EXISTS (SELECT 1 FROM outbox o WHERE o.destination = c.destination AND o.state = 'pending')
			ORDER BY c.destination LIMIT ?)`, holder, ms(now.Add(ttl)), holder, ms(now), limit); err != nil {
			return err
		}
		rows, err := tx.tx.QueryContext(ctx, `SELECT destination, last_sent_at FROM outbox_claims
			WHERE claimed_by = ? AND claimed_until > ? ORDER BY destination`, holder, ms(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c store.Claim
			var last sql.NullInt64
			if err := rows.Scan(&c.Destination, &last); err != nil {
				return err
			}
			c.LastSent = fromMS(last)
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim destinations: %w", err)
	}
	return out, nil
}

// Unclaim ends holder's claims.
func (db *DB) Unclaim(ctx context.Context, holder string) error {
	return db.Update(ctx, func(t store.Tx) error {
		if _, err := t.(*tx).exec(ctx, `UPDATE outbox_claims SET claimed_until = 0 WHERE claimed_by = ?`, holder); err != nil {
			return fmt.Errorf("give up claims: %w", err)
		}
		return nil
	})
}
