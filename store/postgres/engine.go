package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hostwatch/hostwatch/store"
)

// RecordChange stores a change of state in statements that wait in the
// batch, each finding the check's open incident itself: an outage of
// thousands of checks is recorded in a few round trips, not thousands.
func (t *tx) RecordChange(ctx context.Context, c store.Change) error {
	id, err := t.db.checkID(c.Check)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("record the change of %s to %s", c.Check, c.To)
	// The chain's entries of the rows written are known once the batch
	// answers: which incident the change has, whether an entry was
	// added to a timeline.
	slot := len(t.chain)
	t.chain = append(t.chain, store.ChainEntry{}, store.ChainEntry{})
	event := func(kind string) func(pgx.BatchResults) error {
		return func(br pgx.BatchResults) error {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return err
			}
			if len(ids) == 1 {
				t.chain[slot] = store.EventEntry(store.Event{Incident: ids[0], At: c.Now, Kind: kind, Detail: c.Detail})
			}
			return nil
		}
	}
	stateChange := func(br pgx.BatchResults) error {
		var incident *int64
		if err := br.QueryRow().Scan(&incident); err != nil {
			return err
		}
		sc := store.StateChange{Check: c.Check, At: c.Since, From: c.From, To: c.To}
		if incident != nil {
			sc.Incident = *incident
		}
		t.chain[slot+1] = store.StateChangeEntry(sc)
		return nil
	}
	switch {
	case c.To == store.Down:
		// The new incident, if none is open, with its entry and the
		// failures that led to it; then the change and its signal,
		// with whichever incident is open.
		t.queueRead(what, event("opened"), `WITH ins AS (INSERT INTO incidents (check_id, started_at, confirmed_at) VALUES ($1, $2, $3)
				ON CONFLICT (check_id) WHERE resolved_at IS NULL DO NOTHING RETURNING id),
			ev AS (INSERT INTO incident_events (incident_id, at, kind, detail) SELECT id, $4, 'opened', $5 FROM ins),
			claim AS (UPDATE probe_failures SET incident_id = ins.id FROM ins
				WHERE probe_failures.check_id = $1 AND probe_failures.at >= $2 AND probe_failures.incident_id IS NULL)
			SELECT id FROM ins`,
			id, ts(c.Since), ts(c.Confirmed), ts(c.Now), c.Detail)
		t.queue(what, `INSERT INTO incident_errors
			SELECT f.incident_id, f.kind, count(*), min(f.at), (array_agg(f.error ORDER BY f.at))[1], max(f.at), (array_agg(f.error ORDER BY f.at DESC))[1]
			FROM probe_failures f JOIN incidents i ON i.id = f.incident_id AND i.check_id = $1 AND i.resolved_at IS NULL AND i.started_at = $2
			WHERE f.check_id = $1 GROUP BY f.incident_id, f.kind ON CONFLICT (incident_id, kind) DO NOTHING`, id, ts(c.Since))
		t.queueRead(what, stateChange, `WITH cur AS (SELECT id FROM incidents WHERE check_id = $1 AND resolved_at IS NULL),
			sc AS (INSERT INTO state_changes (check_id, at, from_state, to_state, incident_id)
				VALUES ($1, $2, $3, $4, (SELECT id FROM cur))),
			sig AS (INSERT INTO signals (kind, check_name, incident_id, at) VALUES ('change', $5, (SELECT id FROM cur), $2))
			SELECT (SELECT id FROM cur)`,
			id, ts(c.Since), string(c.From), string(c.To), c.Check)
	case c.From == store.Down:
		t.queueRead(what, func(br pgx.BatchResults) error {
			var incident *int64
			if err := br.QueryRow().Scan(&incident); err != nil {
				return err
			}
			if incident != nil {
				t.chain[slot] = store.EventEntry(store.Event{Incident: *incident, At: c.Now, Kind: "resolved", Detail: c.Detail})
			}
			sc := store.StateChange{Check: c.Check, At: c.Since, From: c.From, To: c.To}
			if incident != nil {
				sc.Incident = *incident
			}
			t.chain[slot+1] = store.StateChangeEntry(sc)
			return nil
		}, `WITH r AS (UPDATE incidents SET resolved_at = $2, resolved_by = 'recovery'
				WHERE check_id = $1 AND resolved_at IS NULL RETURNING id),
			ev AS (INSERT INTO incident_events (incident_id, at, kind, detail) SELECT id, $3, 'resolved', $4 FROM r),
			sc AS (INSERT INTO state_changes (check_id, at, from_state, to_state, incident_id)
				VALUES ($1, $2, $5, $6, (SELECT id FROM r))),
			sig AS (INSERT INTO signals (kind, check_name, incident_id, at) VALUES ('change', $7, (SELECT id FROM r), $2))
			SELECT (SELECT id FROM r)`,
			id, ts(c.Since), ts(c.Now), c.Detail, string(c.From), string(c.To), c.Check)
	default:
		t.queue(what, `WITH sc AS (INSERT INTO state_changes (check_id, at, from_state, to_state) VALUES ($1, $2, $3, $4))
			INSERT INTO signals (kind, check_name, at) VALUES ('change', $5, $2)`,
			id, ts(c.Since), string(c.From), string(c.To), c.Check)
		t.chain[slot+1] = store.StateChangeEntry(store.StateChange{Check: c.Check, At: c.Since, From: c.From, To: c.To})
	}
	return nil
}

func (t *tx) Signal(ctx context.Context, s store.Signal) error {
	t.queue("signal "+s.Kind, `INSERT INTO signals (kind, check_name, incident_id, alert_id, at) VALUES ($1, $2, $3, $4, $5)`,
		s.Kind, s.Check, nullID(s.Incident), nullID(s.Alert), ts(s.At))
	return nil
}

func (t *tx) Signals(ctx context.Context, limit int) ([]store.Signal, error) {
	rows, err := t.query(ctx, `SELECT id, kind, check_name, coalesce(incident_id, 0), coalesce(alert_id, 0), at
		FROM signals ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read signals: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Signal, error) {
		var s store.Signal
		err := row.Scan(&s.ID, &s.Kind, &s.Check, &s.Incident, &s.Alert, &s.At)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("read signals: %w", err)
	}
	return out, nil
}

func (t *tx) TakeSignals(ctx context.Context, ids []int64) error {
	if len(ids) > 0 {
		t.queue("take signals", `DELETE FROM signals WHERE id = ANY($1::bigint[])`, ids)
	}
	return nil
}

// Fence locks the lease's row for the rest of the transaction, if holder
// holds it: a renewal or a takeover waits for the commit.
func (t *tx) Fence(ctx context.Context, name, holder string) error {
	var one int
	err := t.queryRow(ctx, []any{&one}, `SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND until_at > clock_timestamp()
		FOR UPDATE`, name, holder)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("lease %s: %w", name, store.ErrLeaseLost)
	}
	return err
}

// Exclude locks the lease's row, whoever holds it.
func (t *tx) Exclude(ctx context.Context, name string) error {
	if _, err := t.exec(ctx, `INSERT INTO leases VALUES ($1, '', 'epoch') ON CONFLICT (name) DO NOTHING`, name); err != nil {
		return err
	}
	var one int
	return t.queryRow(ctx, []any{&one}, `SELECT 1 FROM leases WHERE name = $1 FOR UPDATE`, name)
}

// Lease takes or renews lease name for holder, on the database's clock.
func (db *DB) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	var held bool
	err := db.Update(ctx, func(t store.Tx) error {
		tag, err := t.(*tx).exec(ctx, `INSERT INTO leases VALUES ($1, $2, clock_timestamp() + $3::interval)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_at = excluded.until_at
			WHERE leases.holder = excluded.holder OR leases.until_at <= clock_timestamp()`,
			name, holder, ttl.String())
		held = tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return held, nil
}

// ReleaseLease ends holder's lease at once.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	return db.Update(ctx, func(t store.Tx) error {
		if _, err := t.(*tx).exec(ctx, `UPDATE leases SET until_at = clock_timestamp() WHERE name = $1 AND holder = $2`,
			name, holder); err != nil {
			return fmt.Errorf("release lease %s: %w", name, err)
		}
		return nil
	})
}
