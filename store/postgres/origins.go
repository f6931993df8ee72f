package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hostwatch/hostwatch/store"
)

// SetOrigin records what a source said of a check.
func (t *tx) SetOrigin(ctx context.Context, check string, o store.Origin) error {
	id, err := t.db.checkID(check)
	if err != nil {
		return err
	}
	labels := o.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	t.queue("origin of "+check, `UPDATE checks SET source = $1, title = $2, labels = $3, summary = $4 WHERE id = $5`,
		o.Source, o.Title, labels, o.Summary, id)
	return nil
}

// Origins returns what the sources said of the checks they reported.
func (db *DB) Origins(ctx context.Context) (map[string]store.Origin, error) {
	rows, err := db.pool.Query(ctx, `SELECT name, source, coalesce(title, ''), labels, coalesce(summary, '')
		FROM checks WHERE source IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("origins: %w", err)
	}
	out := map[string]store.Origin{}
	var name string
	var o store.Origin
	_, err = pgx.ForEachRow(rows, []any{&name, &o.Source, &o.Title, &o.Labels, &o.Summary}, func() error {
		out[name] = o
		o = store.Origin{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("origins: %w", err)
	}
	return out, nil
}

// PingToken returns the stored token of a heartbeat check, storing made
// when it has none.
func (db *DB) PingToken(ctx context.Context, check, made string) (string, error) {
	id, err := db.checkID(check)
	if err != nil {
		return "", fmt.Errorf("ping token of %s: %w", check, err)
	}
	var token string
	err = db.pool.QueryRow(ctx, `UPDATE checks SET ping_token = coalesce(ping_token, $1) WHERE id = $2 RETURNING ping_token`,
		made, id).Scan(&token)
	if err != nil {
		return "", fmt.Errorf("ping token of %s: %w", check, err)
	}
	return token, nil
}
