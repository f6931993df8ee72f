package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/hostwatch/hostwatch/store"
)

// SetOrigin records what a source said of a check.
func (t *tx) SetOrigin(ctx context.Context, check string, o store.Origin) error {
	id, err := t.db.checkID(check)
	if err != nil {
		return err
	}
	labels, err := json.Marshal(o.Labels)
	if err != nil {
		return fmt.Errorf("origin of %s: %w", check, err)
	}
	_, err = t.exec(ctx, `UPDATE checks SET source = ?, title = ?, labels = ?, summary = ? WHERE id = ?`,
		o.Source, o.Title, string(labels), o.Summary, id)
	if err != nil {
		return fmt.Errorf("origin of %s: %w", check, err)
	}
	return nil
}

// Origins returns what the sources said of the checks they reported.
func (db *DB) Origins(ctx context.Context) (map[string]store.Origin, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT name, source, coalesce(title, ''), coalesce(labels, 'null'), coalesce(summary, '')
		FROM checks WHERE source IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("origins: %w", err)
	}
	defer rows.Close()
	out := map[string]store.Origin{}
	for rows.Next() {
		var name, labels string
		var o store.Origin
		if err := rows.Scan(&name, &o.Source, &o.Title, &labels, &o.Summary); err != nil {
			return nil, fmt.Errorf("origins: %w", err)
		}
		if err := json.Unmarshal([]byte(labels), &o.Labels); err != nil {
			return nil, fmt.Errorf("origin of %s: %w", name, err)
		}
		out[name] = o
	}
	return out, rows.Err()
}

// PingToken returns the stored token of a heartbeat check, storing made
// when it has none.
func (db *DB) PingToken(ctx context.Context, check, made string) (string, error) {
	var token string
	err := db.Update(ctx, func(t store.Tx) error {
		id, err := db.checkID(check)
		if err != nil {
			return err
		}
		tx := t.(*tx)
		if _, err := tx.exec(ctx, `UPDATE checks SET ping_token = ? WHERE id = ? AND ping_token IS NULL`, made, id); err != nil {
			return err
		}
		var got sql.NullString
		if err := tx.tx.QueryRowContext(ctx, `SELECT ping_token FROM checks WHERE id = ?`, id).Scan(&got); err != nil {
			return err
		}
		token = got.String
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("ping token of %s: %w", check, err)
	}
	return token, nil
}
