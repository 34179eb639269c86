-- The region a message concerns (the case's community), so that a key bound to a region
-- reads its own region's messages only. Messages from before carry '' and are seen by
-- keys that cover every region.
ALTER TABLE outbox ADD COLUMN region TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_region ON outbox (region, case_id);
