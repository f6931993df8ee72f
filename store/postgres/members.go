package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hostwatch/hostwatch/store"
)

const instanceColumns = `name, token, location, role, pid, host, started_at, since_at, seen_at, until_at, checks`

func scanInstance(row pgx.Row) (store.Instance, error) {
	var in store.Instance
	err := row.Scan(&in.Name, &in.Token, &in.Location, &in.Role, &in.PID, &in.Host, &in.Started, &in.Since, &in.Seen, &in.Until, &in.Checks)
	return in, err
}

// Beat renews inst's lease on the database's clock: every instance's
// lease is measured by the same one.
func (db *DB) Beat(ctx context.Context, inst store.Instance, ttl, settle time.Duration) (time.Time, []store.Instance, error) {
	var now time.Time
	var members []store.Instance
	err := db.Update(ctx, func(t store.Tx) error {
		tx := t.(*tx)
		if err := tx.queryRow(ctx, []any{&now}, `SELECT date_trunc('milliseconds', clock_timestamp())`); err != nil {
			return err
		}
		// The row exists before it is locked, so that two first beats
		// under one name take turns instead of both inserting.
		if _, err := tx.exec(ctx, `INSERT INTO instances (name, token, started_at, since_at, seen_at, until_at)
			VALUES ($1, '', $2, $2, $2, 'epoch') ON CONFLICT (name) DO NOTHING`, inst.Name, now); err != nil {
			return err
		}
		rows, err := tx.query(ctx, `SELECT `+instanceColumns+` FROM instances WHERE name = $1 FOR UPDATE`, inst.Name)
		if err != nil {
			return err
		}
		cur, err := pgx.CollectExactlyOneRow(rows, func(row pgx.CollectableRow) (store.Instance, error) { return scanInstance(row) })
		if err != nil {
			return err
		}
		if inst, err = store.Renew(&cur, inst, now, ttl, settle); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE instances SET token = $2, location = $3, role = $4, pid = $5, host = $6,
			started_at = $7, since_at = $8, seen_at = $9, until_at = $10, checks = $11 WHERE name = $1`,
			inst.Name, inst.Token, inst.Location, inst.Role, inst.PID, inst.Host, inst.Started, inst.Since, inst.Seen,
			inst.Until, inst.Checks); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM instances WHERE until_at < $1`, now.Add(-24*time.Hour)); err != nil {
			return err
		}
		rows, err = tx.query(ctx, `SELECT `+instanceColumns+` FROM instances WHERE until_at > $1 ORDER BY name`, now)
		if err != nil {
			return err
		}
		members, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Instance, error) { return scanInstance(row) })
		return err
	})
	if err != nil {
		var taken *store.ErrNameTaken
		if errors.As(err, &taken) {
			return now, nil, err
		}
		return now, nil, fmt.Errorf("heartbeat of %s: %w", inst.Name, err)
	}
	return now, members, nil
}

// Leave ends the lease of this run of instance name.
func (db *DB) Leave(ctx context.Context, name, token string) error {
	return db.Update(ctx, func(t store.Tx) error {
		_, err := t.(*tx).exec(ctx, `UPDATE instances SET until_at = date_trunc('milliseconds', clock_timestamp()) WHERE name = $1 AND token = $2
			AND until_at > clock_timestamp()`, name, token)
		if err != nil {
			return fmt.Errorf("leave as %s: %w", name, err)
		}
		return nil
	})
}
