package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

// RecordChange is the store's composition of its statements: in the
// process, they cost no round trip.
func (t *tx) RecordChange(ctx context.Context, c store.Change) error {
	return store.RecordChange(ctx, t, c)
}

func (t *tx) Signal(ctx context.Context, s store.Signal) error {
	if _, err := t.exec(ctx, `INSERT INTO signals (kind, check_name, incident_id, alert_id, at) VALUES (?, ?, ?, ?, ?)`,
		s.Kind, s.Check, nullID(s.Incident), nullID(s.Alert), ms(s.At)); err != nil {
		return fmt.Errorf("signal %s: %w", s.Kind, err)
	}
	return nil
}

func (t *tx) Signals(ctx context.Context, limit int) ([]store.Signal, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT id, kind, check_name, coalesce(incident_id, 0), coalesce(alert_id, 0), at
		FROM signals ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("read signals: %w", err)
	}
	defer rows.Close()
	var out []store.Signal
	for rows.Next() {
		var s store.Signal
		var at sql.NullInt64
		if err := rows.Scan(&s.ID, &s.Kind, &s.Check, &s.Incident, &s.Alert, &at); err != nil {
			return nil, fmt.Errorf("read signals: %w", err)
		}
		s.At = fromMS(at)
		out = append(out, s)
	}
	return out, rows.Err()
}

func (t *tx) TakeSignals(ctx context.Context, ids []int64) error {
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		if _, err := t.exec(ctx, `DELETE FROM signals WHERE id IN (`+placeholders(len(part))+`)`, args...); err != nil {
			return fmt.Errorf("take signals: %w", err)
		}
	}
	return nil
}

// Fence checks the lease; one daemon writes a SQLite file at a time, so it
// cannot change hands during the transaction.
func (t *tx) Fence(ctx context.Context, name, holder string) error {
	var one int
	err := t.tx.QueryRowContext(ctx, `SELECT 1 FROM leases WHERE name = ? AND holder = ? AND until_at > ?`,
		name, holder, ms(time.Now())).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("lease %s: %w", name, store.ErrLeaseLost)
	}
	return err
}

// Exclude has nothing to wait for: the file's transactions are one at a
// time already.
func (t *tx) Exclude(ctx context.Context, name string) error { return nil }

// Lease takes or renews lease name for holder.
func (db *DB) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	var held bool
	err := db.Update(ctx, func(t store.Tx) error {
		tx := t.(*tx)
		now := time.Now()
		if _, err := tx.exec(ctx, `INSERT INTO leases VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE
			SET holder = excluded.holder, until_at = excluded.until_at WHERE holder = excluded.holder OR until_at <= ?`,
			name, holder, ms(now.Add(ttl)), ms(now)); err != nil {
			return err
		}
		var cur string
		if err := tx.tx.QueryRowContext(ctx, `SELECT holder FROM leases WHERE name = ?`, name).Scan(&cur); err != nil {
			return err
		}
		held = cur == holder
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return held, nil
}

// ReleaseLease ends holder's lease at once.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	return db.Update(ctx, func(t store.Tx) error {
		if _, err := t.(*tx).exec(ctx, `UPDATE leases SET until_at = ? WHERE name = ? AND holder = ?`,
			ms(time.Now()), name, holder); err != nil {
			return fmt.Errorf("release lease %s: %w", name, err)
		}
		return nil
	})
}
