package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

// TakeOnce records key until expires; it reports false for a key taken
// before that has not expired.
func (db *DB) TakeOnce(ctx context.Context, key string, now, expires time.Time) (bool, error) {
	var fresh bool
	err := db.Update(ctx, func(t store.Tx) error {
		tx := t.(*tx)
		if _, err := tx.exec(ctx, `DELETE FROM replays WHERE expires_at <= ?`, ms(now)); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `INSERT INTO replays VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, ms(expires))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		fresh = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("remember request: %w", err)
	}
	return fresh, nil
}
