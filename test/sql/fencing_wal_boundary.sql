-- fencing_token() flushes the WAL inserted so far. When that WAL ends exactly at a page (or
-- segment) boundary, the next insert position lies past the next page's header, which nothing
-- has written: flushing up to it failed with "xlog flush request ... is not satisfied" (XX000),
-- and kept failing until other WAL was written. Found by the Patroni scenario
-- (test/patroni/), where it struck one transfer in a few hundred.
--
-- pad_wal_to(unit, header) writes logical messages until the WAL ends at a multiple of unit
-- (8192: a page; the segment size: a segment), so that the insert position is the boundary plus
-- header bytes, then issues a token there. A message of n bytes (n > 255) is a record of
-- 57 + n bytes, so one that fills the rest of a page ends exactly at its boundary. Other
-- sessions' WAL may get in between: it tries again.
CREATE FUNCTION pad_wal_to(unit bigint, header int) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    pos bigint;
    room bigint;
BEGIN
    FOR attempt IN 1 .. 500 LOOP
        pos := (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint;
        IF pos % unit = header THEN
            RETURN CASE WHEN lockguard.fencing_token('wal-boundary') > 0 THEN 'token issued at the boundary' END;
        END IF;
        room := unit - pos % unit;
        IF room > 3 * 8192 THEN        -- far from a segment boundary: to about two pages before it
            -- in one record (every page it crosses adds a 24-byte header to its 8168 bytes)
            PERFORM pg_logical_emit_message(false, 'pad', repeat('x', ((room - 2 * 8192) * 8168 / 8192 - 57)::int));
        ELSIF 8192 - pos % 8192 >= 400 THEN   -- fill the rest of this page exactly
            PERFORM pg_logical_emit_message(false, 'pad', repeat('x', (8192 - pos % 8192 - 57)::int));
        ELSE                           -- too little room left on this page: into the next one
            PERFORM pg_logical_emit_message(false, 'pad', repeat('x', 300));
        END IF;
    END LOOP;
    RETURN 'never reached the boundary';
END
$$;

-- The counter is logged ahead now, so the token at the boundary writes no WAL of its own.
SELECT lockguard.fencing_token('wal-boundary') > 0 AS issued;
SELECT pad_wal_to(8192, 24) AS page_boundary;
SELECT pad_wal_to(8192, 24) AS page_boundary_again;
SELECT pad_wal_to(setting::bigint, 40) AS segment_boundary FROM pg_settings WHERE name = 'wal_segment_size';
DROP FUNCTION pad_wal_to(bigint, int);
