-- A check is measured from its first probe, to the millisecond, not from
-- the start of the hour its first aggregate counts.
ALTER TABLE checks ADD COLUMN first_probed_at INTEGER;

-- The record before this column knows the first probe exactly when a
-- change of state or a failed probe falls in the check's first aggregate
-- (the first probe of a check changes its state from unknown, or fails);
-- otherwise the start of that aggregate is the best it knows.
UPDATE checks SET first_probed_at = CASE
        WHEN f.exact IS NOT NULL AND (f.period IS NULL OR f.exact < f.period_end) THEN f.exact
        ELSE f.period END
    FROM (SELECT c.id, min(coalesce(c.sc, c.pf), coalesce(c.pf, c.sc)) AS exact, s.period,
            s.period + s.period_hours * 3600000 AS period_end
        FROM (SELECT id,
                (SELECT min(at) FROM state_changes WHERE check_id = checks.id) AS sc,
                (SELECT min(at) FROM probe_failures WHERE check_id = checks.id) AS pf
            FROM checks) c
        LEFT JOIN probe_stats s ON s.check_id = c.id
            AND s.period = (SELECT min(period) FROM probe_stats WHERE check_id = c.id)) f
    WHERE f.id = checks.id;
