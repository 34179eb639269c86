-- A department's duty contact (值班电话), optional in departments.csv: urgent notices to
-- the department go there by SMS as well as to its system by webhook.
ALTER TABLE departments ADD COLUMN duty_phone TEXT;
