package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hostwatch/hostwatch/store"
)

var _ store.Verifier = (*DB)(nil)

// chainLock is the advisory lock a transaction takes to append to the
// chain: two instances appending at once would fork it.
const chainLock = 0x686f7374636861 // "hostcha"

// appendChain sends what is batched, then takes the chain's lock and
// reads its head in the same round trip, as late as it can be taken, and
// appends the transaction's entries in one statement: the lock is held
// for that statement and the commit.
func (t *tx) appendChain(ctx context.Context) error {
	if len(t.chain) == 0 {
		return t.flush(ctx)
	}
	var seq int64
	var hash string
	t.queue("lock the chain", `SELECT pg_advisory_xact_lock($1)`, int64(chainLock))
	t.queueRead("read the chain's head", func(br pgx.BatchResults) error {
		err := br.QueryRow().Scan(&seq, &hash)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	}, `SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1`)
	if err := t.flush(ctx); err != nil {
		return err
	}
	entries := t.chain[:0]
	for _, e := range t.chain {
		if e.Kind != "" {
			entries = append(entries, e)
		}
	}
	t.chain = nil
	if len(entries) == 0 {
		return nil
	}
	store.Link(seq, hash, entries)
	n := len(entries)
	seqs, ats := make([]int64, n), make([]time.Time, n)
	kinds, refs, contents, prevs, hashes := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range entries {
		seqs[i], ats[i], kinds[i], refs[i], contents[i], prevs[i], hashes[i] = e.Seq, e.At, e.Kind, e.Ref, e.Content, e.Prev, e.Hash
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO chain SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[],
		$5::text[], $6::text[], $7::text[])`, seqs, ats, kinds, refs, contents, prevs, hashes); err != nil {
		return fmt.Errorf("append to the chain: %w", err)
	}
	return nil
}

// ChainHead returns the chain's last entry.
func (db *DB) ChainHead(ctx context.Context) (int64, string, time.Time, error) {
	var seq int64
	var hash string
	var at time.Time
	err := db.pool.QueryRow(ctx, `SELECT seq, hash, at FROM chain ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", time.Time{}, nil
	}
	if err != nil {
		return 0, "", time.Time{}, fmt.Errorf("read the chain's head: %w", err)
	}
	return seq, hash, at, nil
}

// VerifyChain walks the chain in one read-only, repeatable-read
// transaction: one snapshot of the chain and of the rows it covers.
func (db *DB) VerifyChain(ctx context.Context, from time.Time) (store.ChainVerified, *store.ChainBreak, error) {
	rtx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return store.ChainVerified{}, nil, fmt.Errorf("verify the chain: %w", err)
	}
	defer rollback(ctx, rtx)
	v, bad, err := store.WalkChain(ctx, chainSource{rtx}, from)
	if err != nil {
		return v, nil, fmt.Errorf("verify the chain: %w", err)
	}
	return v, bad, nil
}

// chainSource reads the chain and its rows in one transaction.
type chainSource struct{ tx pgx.Tx }

func (s chainSource) ChainStart(ctx context.Context, from time.Time) (int64, string, bool, error) {
	var seq *int64
	if err := s.tx.QueryRow(ctx, `SELECT min(seq) FROM chain WHERE at >= $1`, from).Scan(&seq); err != nil {
		return 0, "", false, err
	}
	if seq == nil {
		return 0, "", false, nil
	}
	prev := store.ChainGenesis
	err := s.tx.QueryRow(ctx, `SELECT hash FROM chain WHERE seq = $1`, *seq-1).Scan(&prev)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, "", false, err
	}
	return *seq, prev, true, nil
}

func (s chainSource) ChainRows(ctx context.Context, seq int64) (*store.ChainRows, error) {
	rows := store.NewChainRows()
	var since *time.Time
	if err := s.tx.QueryRow(ctx, `SELECT min(at) FROM chain WHERE seq >= $1`, seq).Scan(&since); err != nil {
		return nil, err
	}
	if since == nil {
		return rows, nil
	}
	reads := []struct {
		q    string
		args []any
		row  func(row pgx.Row) error
	}{
		{`SELECT c.name, f.at, f.kind, f.error FROM probe_failures f JOIN checks c ON c.id = f.check_id WHERE f.at >= $1`, []any{*since},
			func(row pgx.Row) error {
				var f store.Failure
				err := row.Scan(&f.Check, &f.At, &f.Kind, &f.Error)
				rows.Add(store.FailureEntry(f))
				return err
			}},
		{`SELECT c.name, s.at, s.from_state, s.to_state, coalesce(s.incident_id, 0) FROM state_changes s JOIN checks c ON c.id = s.check_id
			WHERE s.at >= $1`, []any{*since},
			func(row pgx.Row) error {
				var c store.StateChange
				err := row.Scan(&c.Check, &c.At, &c.From, &c.To, &c.Incident)
				rows.Add(store.StateChangeEntry(c))
				return err
			}},
		{`SELECT incident_id, at, kind, detail FROM incident_events WHERE at >= $1`, []any{*since},
			func(row pgx.Row) error {
				var e store.Event
				err := row.Scan(&e.Incident, &e.At, &e.Kind, &e.Detail)
				rows.Add(store.EventEntry(e))
				return err
			}},
		{`SELECT id, acknowledged_at, coalesce(acknowledged_by, '') FROM incidents`, nil,
			func(row pgx.Row) error {
				var id int64
				var at *time.Time
				var by string
				err := row.Scan(&id, &at, &by)
				if at == nil {
					at = &time.Time{}
				}
				rows.Ack(id, store.AckState(by, *at))
				return err
			}},
		{`SELECT content FROM chain WHERE kind = 'compact'`, nil,
			func(row pgx.Row) error {
				var content string
				err := row.Scan(&content)
				rows.Compacted(content)
				return err
			}},
	}
	for _, r := range reads {
		rs, err := s.tx.Query(ctx, r.q, r.args...)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			if err := r.row(rs); err != nil {
				rs.Close()
				return nil, err
			}
		}
		if err := rs.Err(); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

func (s chainSource) ChainEntries(ctx context.Context, seq int64, fn func(store.ChainEntry) bool) error {
	rs, err := s.tx.Query(ctx, `SELECT seq, at, kind, ref, content, prev, hash FROM chain WHERE seq >= $1 ORDER BY seq`, seq)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var e store.ChainEntry
		if err := rs.Scan(&e.Seq, &e.At, &e.Kind, &e.Ref, &e.Content, &e.Prev, &e.Hash); err != nil {
			return err
		}
		if !fn(e) {
			return nil
		}
	}
	return rs.Err()
}
