-- Helpers the other regression tests share (first in the Makefile's REGRESS list).
-- try() runs a statement and reports how it failed: SQLSTATE, message, detail, hint.
CREATE FUNCTION try(statement text)
RETURNS TABLE (sqlstate text, message text, detail text, hint text)
LANGUAGE plpgsql AS $$
DECLARE
  st text; msg text; det text; hin text;
BEGIN
  EXECUTE statement;
  RETURN QUERY SELECT 'ok'::text, NULL::text, NULL::text, NULL::text;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                          hin = PG_EXCEPTION_HINT;
  RETURN QUERY SELECT st, msg, NULLIF(det, ''), NULLIF(hin, '');
END $$;
SELECT * FROM try('SELECT 1/0');
SELECT * FROM try('SELECT 1');
