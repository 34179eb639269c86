-- The duplicates merged into a case, by the case they joined: the facts for a period
-- find each case's first report (the earliest over the case and its duplicates).
CREATE INDEX cases_by_merged_into ON cases (merged_into, reported_at) WHERE merged_into IS NOT NULL;
