-- 0006: who relayed each alert. A resolution may only close an alert that the
-- same source first reported firing, so one bot in the alerts channel cannot
-- resolve another's alerts. Rows from before this migration have no source
-- ('') and can be resolved by any trusted source.
ALTER TABLE alerts ADD COLUMN relayed_by TEXT NOT NULL DEFAULT '';

-- alerts_by_origin finds the first firing report of a fingerprint.
CREATE INDEX alerts_by_origin ON alerts (fingerprint, status, id);
