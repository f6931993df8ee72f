package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hostwatch/hostwatch/store"
)

func (t *tx) Enqueue(ctx context.Context, items []store.OutboxItem) error {
	for i := range items {
		it := &items[i]
		if it.Op == "" {
			it.Op = "send"
		}
		id, err := t.nextID(ctx, "outbox")
		if err != nil {
			return err
		}
		it.ID, it.State = id, store.Pending
		t.queue("enqueue message to "+it.Destination, `INSERT INTO outbox (created_at, destination, incident_id, alert_id, op, ref_id, payload, next_at, id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $1, $8)`, ts(it.CreatedAt), it.Destination, nullID(it.Incident), nullID(it.Alert), it.Op,
			nullID(it.Ref), it.Payload, id)
	}
	return nil
}

const outboxColumns = `id, created_at, destination, coalesce(incident_id, 0), coalesce(alert_id, 0), op,
	coalesce(ref_id, 0), payload, state, attempts, next_at, last_error, receipt`

func scanItem(row pgx.Row) (store.OutboxItem, error) {
	var it store.OutboxItem
	err := row.Scan(&it.ID, &it.CreatedAt, &it.Destination, &it.Incident, &it.Alert, &it.Op, &it.Ref, &it.Payload,
		&it.State, &it.Attempts, &it.NextAt, &it.LastError, &it.Receipt)
	return it, err
}

func (t *tx) AlertSends(ctx context.Context, alert int64) ([]store.OutboxItem, error) {
	// Messages written before alerts existed are filed under their
	// incident only.
	rows, err := t.query(ctx, `SELECT `+outboxColumns+` FROM outbox
		WHERE op = 'send' AND (alert_id = $1 OR (alert_id IS NULL
			AND incident_id IN (SELECT id FROM incidents WHERE alert_id = $1))) ORDER BY id`, alert)
	if err != nil {
		return nil, fmt.Errorf("messages of alert %d: %w", alert, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.OutboxItem, error) { return scanItem(row) })
	if err != nil {
		return nil, fmt.Errorf("messages of alert %d: %w", alert, err)
	}
	return out, nil
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
	rows, err := db.pool.Query(ctx, `SELECT `+outboxColumns+` FROM outbox
		WHERE state = 'pending' AND id > $1 AND ($2::text[] IS NULL OR destination = ANY($2)) ORDER BY id LIMIT $3`,
		after, dests, limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.OutboxItem, error) { return scanItem(row) })
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return out, nil
}

// Item returns one outbox item.
func (db *DB) Item(ctx context.Context, id int64) (store.OutboxItem, error) {
	it, err := scanItem(db.pool.QueryRow(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return it, fmt.Errorf("outbox item %d: %w", id, store.ErrNotFound)
	}
	return it, err
}

// mark runs one marking statement on a pending item, and what else the
// mark calls for, in one transaction.
func (db *DB) mark(ctx context.Context, what string, id int64, query string, args []any, also func(*tx)) error {
	return db.Update(ctx, func(t store.Tx) error {
		tx := t.(*tx)
		tag, err := tx.exec(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("mark outbox item %d %s: %w", id, what, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("mark outbox item %d %s: %w", id, what, store.ErrNotFound)
		}
		if also != nil {
			also(tx)
		}
		return nil
	})
}

// MarkSent records a delivery, and when its destination last had one.
func (db *DB) MarkSent(ctx context.Context, id int64, receipt string, at time.Time) error {
	return db.mark(ctx, "sent", id, `UPDATE outbox SET state = 'sent', receipt = $1, done_at = $2, attempts = attempts + 1
		WHERE id = $3 AND state = 'pending'`, []any{receipt, at, id}, func(tx *tx) {
		tx.queue(fmt.Sprintf("mark outbox item %d sent", id), `UPDATE outbox_claims SET last_sent_at = $1
			WHERE destination = (SELECT destination FROM outbox WHERE id = $2)`, at, id)
	})
}

// MarkRetry records a failed attempt.
func (db *DB) MarkRetry(ctx context.Context, id int64, attempts int, next time.Time, lastErr string) error {
	return db.mark(ctx, "for retry", id, `UPDATE outbox SET attempts = $1, next_at = $2, last_error = $3
		WHERE id = $4 AND state = 'pending'`, []any{attempts, next, lastErr, id}, nil)
}

// MarkFailed gives up on an item.
func (db *DB) MarkFailed(ctx context.Context, id int64, attempts int, lastErr string, at time.Time) error {
	return db.mark(ctx, "failed", id, `UPDATE outbox SET state = 'failed', attempts = $1, last_error = $2, done_at = $3
		WHERE id = $4 AND state = 'pending'`, []any{attempts, lastErr, at, id}, nil)
}

// TakeOnce records key until expires; it reports false for a key taken
// before, by this instance or any other, that has not expired.
func (db *DB) TakeOnce(ctx context.Context, key string, now, expires time.Time) (bool, error) {
	var fresh bool
	err := db.Update(ctx, func(t store.Tx) error {
		tx := t.(*tx)
		if _, err := tx.exec(ctx, `DELETE FROM replays WHERE expires_at <= $1`, now); err != nil {
			return err
		}
		tag, err := tx.exec(ctx, `INSERT INTO replays VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, expires)
		fresh = tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("remember request: %w", err)
	}
	return fresh, nil
}

// Claim takes the destinations with pending messages that no other
// holder's running claim covers: rows another instance is claiming at the
// same moment are skipped, not waited for.
func (db *DB) Claim(ctx context.Context, holder string, ttl time.Duration, limit int) ([]store.Claim, error) {
	var out []store.Claim
	err := db.Update(ctx, func(t store.Tx) error {
		tx := t.(*tx)
		if _, err := tx.exec(ctx, `INSERT INTO outbox_claims (destination) SELECT DISTINCT destination FROM outbox
			WHERE state = 'pending' ON CONFLICT (destination) DO NOTHING`); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE outbox_claims SET claimed_by = $1, claimed_until = clock_timestamp() + $2::interval
			WHERE destination IN (SELECT c.destination FROM outbox_claims c
				WHERE (c.claimed_by = $1 OR c.claimed_until <= clock_timestamp())
				AND EXISTS (SELECT 1 FROM outbox o WHERE o.destination = c.destination AND o.state = 'pending')
				ORDER BY c.destination LIMIT $3 FOR UPDATE SKIP LOCKED)`, holder, ttl.String(), limit); err != nil {
			return err
		}
		rows, err := tx.query(ctx, `SELECT destination, last_sent_at FROM outbox_claims
			WHERE claimed_by = $1 AND claimed_until > clock_timestamp() ORDER BY destination`, holder)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Claim, error) {
			var c store.Claim
			var last *time.Time
			err := row.Scan(&c.Destination, &last)
			c.LastSent = at(last)
			return c, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim destinations: %w", err)
	}
	return out, nil
}

// Unclaim ends holder's claims.
func (db *DB) Unclaim(ctx context.Context, holder string) error {
	return db.Update(ctx, func(t store.Tx) error {
		if _, err := t.(*tx).exec(ctx, `UPDATE outbox_claims SET claimed_until = 'epoch' WHERE claimed_by = $1`, holder); err != nil {
			return fmt.Errorf("give up claims: %w", err)
		}
		return nil
	})
}
