-- A check is measured from its first probe, not from the start of the hour
-- its first aggregate counts.
ALTER TABLE checks ADD COLUMN first_probed_at timestamptz;

-- The record before this column knows the first probe exactly when a
-- change of state or a failed probe falls in the check's first aggregate
-- (the first probe of a check changes its state from unknown, or fails);
-- otherwise the start of that aggregate is the best it knows.
UPDATE checks c SET first_probed_at = CASE
        WHEN f.exact IS NOT NULL AND (f.period IS NULL OR f.exact < f.period_end) THEN f.exact
        ELSE f.period END
    FROM (SELECT x.id,
            least((SELECT min(at) FROM state_changes WHERE check_id = x.id),
                (SELECT min(at) FROM probe_failures WHERE check_id = x.id)) AS exact,
            s.period, s.period + s.period_hours * interval '1 hour' AS period_end
        FROM checks x
        LEFT JOIN LATERAL (SELECT period, period_hours FROM probe_stats WHERE check_id = x.id
            ORDER BY period LIMIT 1) s ON true) f
    WHERE f.id = c.id;
