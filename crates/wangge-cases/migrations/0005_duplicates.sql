-- Duplicate reports (重复上报): a new report looks for an open case of the same
-- category reported within 24 h, then by distance.
CREATE INDEX cases_by_category_reported_at ON cases (category, reported_at);
