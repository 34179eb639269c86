-- As SQLite's 0005_outlines.sql: each grid's outline simplified for maps
-- (GET /v1/grids/outlines), compact GeoJSON text computed when grids are imported
-- (wangge_registry::outline); NULL for grids imported before, filled in by the first
-- read of their outlines.
ALTER TABLE grids ADD COLUMN outline TEXT COLLATE "C";
