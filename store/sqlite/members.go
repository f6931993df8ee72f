package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

const instanceColumns = `name, token, location, role, pid, host, started_at, since_at, seen_at, until_at, checks`

func scanInstance(sc interface{ Scan(...any) error }) (store.Instance, error) {
	var in store.Instance
	var started, since, seen, until sql.NullInt64
	err := sc.Scan(&in.Name, &in.Token, &in.Location, &in.Role, &in.PID, &in.Host, &started, &since, &seen, &until, &in.Checks)
	in.Started, in.Since, in.Seen, in.Until = fromMS(started), fromMS(since), fromMS(seen), fromMS(until)
	return in, err
}

// Beat renews inst's lease; the store's clock is this host's.
func (db *DB) Beat(ctx context.Context, inst store.Instance, ttl, settle time.Duration) (time.Time, []store.Instance, error) {
	now := time.Now().Truncate(time.Millisecond)
	var members []store.Instance
	err := db.Update(ctx, func(t store.Tx) error {
		tx := t.(*tx)
		var held *store.Instance
		cur, err := scanInstance(tx.tx.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE name = ?`, inst.Name))
		switch {
		case err == nil:
			held = &cur
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if inst, err = store.Renew(held, inst, now, ttl, settle); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO instances (`+instanceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET token = excluded.token, location = excluded.location, role = excluded.role,
			pid = excluded.pid, host = excluded.host, started_at = excluded.started_at, since_at = excluded.since_at,
			seen_at = excluded.seen_at, until_at = excluded.until_at, checks = excluded.checks`,
			inst.Name, inst.Token, inst.Location, inst.Role, inst.PID, inst.Host, ms(inst.Started), ms(inst.Since),
			ms(inst.Seen), ms(inst.Until), inst.Checks); err != nil {
			return err
		}
		// Those gone for a day are forgotten.
		if _, err := tx.exec(ctx, `DELETE FROM instances WHERE until_at < ?`, ms(now.Add(-24*time.Hour))); err != nil {
			return err
		}
		rows, err := tx.tx.QueryContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE until_at > ? ORDER BY name`, ms(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			in, err := scanInstance(rows)
			if err != nil {
				return err
			}
			members = append(members, in)
		}
		return rows.Err()
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
		_, err := t.(*tx).exec(ctx, `UPDATE instances SET until_at = ? WHERE name = ? AND token = ? AND until_at > ?`,
			ms(time.Now()), name, token, ms(time.Now()))
		if err != nil {
			return fmt.Errorf("leave as %s: %w", name, err)
		}
		return nil
	})
}
