-- Each grid's outline simplified for maps (GET /v1/grids/outlines): compact GeoJSON text,
-- Douglas-Peucker at about 3 m, coordinates to 6 decimals, computed when grids are
-- imported (wangge_registry::outline). Grids imported before this column existed have
-- NULL here; the first read of their outlines computes and stores them.
ALTER TABLE grids ADD COLUMN outline TEXT;
