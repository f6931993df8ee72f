package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hostwatch/hostwatch/store"
)

var _ store.Verifier = (*DB)(nil)

// chainRowsPerInsert keeps an insert's parameters under SQLite's limit.
const chainRowsPerInsert = 1000

// appendChain appends the transaction's entries after the head: the one
// writer connection makes the head read here the latest.
func (t *tx) appendChain(ctx context.Context) error {
	if len(t.chain) == 0 {
		return nil
	}
	var seq sql.NullInt64
	var hash sql.NullString
	err := t.tx.QueryRowContext(ctx, `SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read the chain's head: %w", err)
	}
	store.Link(seq.Int64, hash.String, t.chain)
	for rest := t.chain; len(rest) > 0; {
		n := min(len(rest), chainRowsPerInsert)
		var q strings.Builder
		q.WriteString(`INSERT INTO chain VALUES `)
		args := make([]any, 0, 7*n)
		for i, e := range rest[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, e.Seq, e.At.UnixMilli(), e.Kind, e.Ref, e.Content, e.Prev, e.Hash)
		}
		if _, err := t.tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("append to the chain: %w", err)
		}
		rest = rest[n:]
	}
	t.chain = nil
	return nil
}

// ChainHead returns the chain's last entry.
func (db *DB) ChainHead(ctx context.Context) (int64, string, time.Time, error) {
	var seq, at int64
	var hash string
	err := db.r.QueryRowContext(ctx, `SELECT seq, hash, at FROM chain ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", time.Time{}, nil
	}
	if err != nil {
		return 0, "", time.Time{}, fmt.Errorf("read the chain's head: %w", err)
	}
	return seq, hash, time.UnixMilli(at), nil
}

// VerifyChain walks the chain in one read transaction: one snapshot of
// the chain and of the rows it covers.
func (db *DB) VerifyChain(ctx context.Context, from time.Time) (store.ChainVerified, *store.ChainBreak, error) {
	rtx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.ChainVerified{}, nil, fmt.Errorf("verify the chain: %w", err)
	}
	defer rtx.Rollback()
	v, bad, err := store.WalkChain(ctx, chainSource{rtx}, from)
	if err != nil {
		return v, nil, fmt.Errorf("verify the chain: %w", err)
	}
	return v, bad, nil
}

// chainSource reads the chain and its rows in one transaction.
type chainSource struct{ tx *sql.Tx }

func (s chainSource) ChainStart(ctx context.Context, from time.Time) (int64, string, bool, error) {
	var seq sql.NullInt64
	if err := s.tx.QueryRowContext(ctx, `SELECT min(seq) FROM chain WHERE at >= ?`, from.UnixMilli()).Scan(&seq); err != nil {
		return 0, "", false, err
	}
	if !seq.Valid {
		return 0, "", false, nil
	}
	prev := store.ChainGenesis
	err := s.tx.QueryRowContext(ctx, `SELECT hash FROM chain WHERE seq = ?`, seq.Int64-1).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, err
	}
	return seq.Int64, prev, true, nil
}

func (s chainSource) ChainRows(ctx context.Context, seq int64) (*store.ChainRows, error) {
	rows := store.NewChainRows()
	var since int64
	if err := s.tx.QueryRowContext(ctx, `SELECT coalesce(min(at), 0) FROM chain WHERE seq >= ?`, seq).Scan(&since); err != nil {
		return nil, err
	}
	reads := []struct {
		q    string
		args []any
		row  func(scan func(...any) error) error
	}{
		{`SELECT c.name, f.at, f.kind, f.error FROM probe_failures f JOIN checks c ON c.id = f.check_id WHERE f.at >= ?`, []any{since},
			func(scan func(...any) error) error {
				var f store.Failure
				var at int64
				err := scan(&f.Check, &at, &f.Kind, &f.Error)
				f.At = time.UnixMilli(at)
				rows.Add(store.FailureEntry(f))
				return err
			}},
		{`SELECT c.name, s.at, s.from_state, s.to_state, coalesce(s.incident_id, 0) FROM state_changes s JOIN checks c ON c.id = s.check_id
			WHERE s.at >= ?`, []any{since},
			func(scan func(...any) error) error {
				var c store.StateChange
				var at int64
				err := scan(&c.Check, &at, &c.From, &c.To, &c.Incident)
				c.At = time.UnixMilli(at)
				rows.Add(store.StateChangeEntry(c))
				return err
			}},
		{`SELECT incident_id, at, kind, detail FROM incident_events WHERE at >= ?`, []any{since},
			func(scan func(...any) error) error {
				var e store.Event
				var at int64
				err := scan(&e.Incident, &at, &e.Kind, &e.Detail)
				e.At = time.UnixMilli(at)
				rows.Add(store.EventEntry(e))
				return err
			}},
		{`SELECT id, acknowledged_at, coalesce(acknowledged_by, '') FROM incidents`, nil,
			func(scan func(...any) error) error {
				var id int64
				var at sql.NullInt64
				var by string
				err := scan(&id, &at, &by)
				rows.Ack(id, store.AckState(by, fromMS(at)))
				return err
			}},
		{`SELECT content FROM chain WHERE kind = 'compact'`, nil,
			func(scan func(...any) error) error {
				var content string
				err := scan(&content)
				rows.Compacted(content)
				return err
			}},
	}
	for _, r := range reads {
		if err := s.each(ctx, r.q, r.args, r.row); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// each calls row with the scan of each row of a query.
func (s chainSource) each(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error {
	rs, err := s.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := row(rs.Scan); err != nil {
			return err
		}
	}
	return rs.Err()
}

func (s chainSource) ChainEntries(ctx context.Context, seq int64, fn func(store.ChainEntry) bool) error {
	rs, err := s.tx.QueryContext(ctx, `SELECT seq, at, kind, ref, content, prev, hash FROM chain WHERE seq >= ? ORDER BY seq`, seq)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var e store.ChainEntry
		var at int64
		if err := rs.Scan(&e.Seq, &at, &e.Kind, &e.Ref, &e.Content, &e.Prev, &e.Hash); err != nil {
			return err
		}
		e.At = time.UnixMilli(at)
		if !fn(e) {
			return nil
		}
	}
	return rs.Err()
}
