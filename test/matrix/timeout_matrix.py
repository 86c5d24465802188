#!/usr/bin/env python3
"""The timeout matrix: every lockguard acquire function against every kind of blocker another
session can be, under every combination of the caller's lock_timeout and statement_timeout.

Generated and exhaustive: SCOPES x BLOCKERS x SETTINGS cases, counted and checked at the end.
For each case:
  1. the control: the blocker is live (a plain-SQL probe it blocks fails at once: NOWAIT, a
     try function, or a 20 ms lock_timeout in the probe session; a queued waiter shows as an
     ungranted lock in pg_locks);
  2. the expected outcome, derived from PostgreSQL's conflict tables below (table-level modes
     and row-level strengths, as documented in "Explicit Locking") applied to what the blocker
     holds or queues for and what the scope's request needs, never from lockguard's behaviour:
     granted at once, lockguard's 55P03 within the bound naming the blocker's processes (and no
     other), or the caller's own 57014 when its statement_timeout is shorter (never retried by
     lockguard_run);
  3. the call, timed from the client; after a failure (and after a try that says busy) nothing
     of the caller is left held or published (lockguard.locks, pg_locks in lockguard's spaces);
     the caller's own lock_timeout is what it was, after the call and after the rollback.

Bounds: a 55P03 comes no earlier than timeout_ms and no later than timeout_ms + SLACK_MS (per
attempt for lockguard_run); a 57014 no earlier than statement_timeout and no later than
statement_timeout + SLACK_MS; "at once" is within SLACK_MS. SLACK_MS covers the client round
trip and scheduling on a loaded 2-core machine; the largest overshoot seen is printed so the
slack stays honest (docs/acquire.md records the measurement).

Output is TAP. Connection from the usual PG* environment variables; the database must have
lockguard installed and max_prepared_transactions > 0 (for the prepared-transaction blocker).
"""
import os
import re
import sys
import threading
import time

import psycopg2
import psycopg2.extensions

TIMEOUT_MS = 100          # timeout_ms of every waiting call
SLACK_MS = 100            # see the docstring: measured overshoot is printed
RUN_ATTEMPTS = 2          # lockguard_run: a retry happens, then it gives up
WATCHDOG_S = 5.0          # a call still running after this is an unbounded wait: cancelled, failed

# --- PostgreSQL's conflict tables ------------------------------------------------------------
MODES = ['AccessShare', 'RowShare', 'RowExclusive', 'ShareUpdateExclusive', 'Share',
         'ShareRowExclusive', 'Exclusive', 'AccessExclusive']
_CONFLICT_ROWS = {  # table-level lock modes: which modes each one conflicts with
    'AccessShare': ['AccessExclusive'],
    'RowShare': ['Exclusive', 'AccessExclusive'],
    'RowExclusive': ['Share', 'ShareRowExclusive', 'Exclusive', 'AccessExclusive'],
    'ShareUpdateExclusive': ['ShareUpdateExclusive', 'Share', 'ShareRowExclusive', 'Exclusive',
                             'AccessExclusive'],
    'Share': ['RowExclusive', 'ShareUpdateExclusive', 'ShareRowExclusive', 'Exclusive',
              'AccessExclusive'],
    'ShareRowExclusive': ['RowExclusive', 'ShareUpdateExclusive', 'Share', 'ShareRowExclusive',
                          'Exclusive', 'AccessExclusive'],
    'Exclusive': ['RowShare', 'RowExclusive', 'ShareUpdateExclusive', 'Share', 'ShareRowExclusive',
                  'Exclusive', 'AccessExclusive'],
    'AccessExclusive': MODES,
}
STRENGTHS = ['KeyShare', 'Share', 'NoKeyUpdate', 'Update']
_ROW_CONFLICT_ROWS = {  # row-level lock strengths
    'KeyShare': ['Update'],
    'Share': ['NoKeyUpdate', 'Update'],
    'NoKeyUpdate': ['Share', 'NoKeyUpdate', 'Update'],
    'Update': STRENGTHS,
}


def conflicts(kind, a, b):
    table = _ROW_CONFLICT_ROWS if kind in ('row', 'lg_row') else _CONFLICT_ROWS
    return b in table[a]


SQL_MODE = {'AccessShare': 'ACCESS SHARE', 'RowShare': 'ROW SHARE', 'RowExclusive': 'ROW EXCLUSIVE',
            'ShareUpdateExclusive': 'SHARE UPDATE EXCLUSIVE', 'Share': 'SHARE',
            'ShareRowExclusive': 'SHARE ROW EXCLUSIVE', 'Exclusive': 'EXCLUSIVE',
            'AccessExclusive': 'ACCESS EXCLUSIVE'}
SQL_STRENGTH = {'KeyShare': 'FOR KEY SHARE', 'Share': 'FOR SHARE', 'NoKeyUpdate': 'FOR NO KEY UPDATE',
                'Update': 'FOR UPDATE'}

# --- the schema and what a request on each target needs --------------------------------------
SETUP = """
DROP SCHEMA IF EXISTS mx CASCADE;
CREATE SCHEMA mx;
CREATE TABLE mx.item (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO mx.item VALUES (1, 0);
CREATE TABLE mx.part (id int PRIMARY KEY, v int NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE mx.part_p1 PARTITION OF mx.part FOR VALUES FROM (0) TO (100);
CREATE TABLE mx.part_p2 PARTITION OF mx.part FOR VALUES FROM (100) TO (200);
INSERT INTO mx.part VALUES (1, 0), (150, 0);
CREATE FUNCTION mx.work() RETURNS jsonb LANGUAGE sql AS $$ SELECT '{"done": true}'::jsonb $$;
"""
CHILDREN = {'item': [], 'part': ['part_p1', 'part_p2'], 'part_p1': []}
ROW_PARTITION = {'item': [], 'part': ['part_p1'], 'part_p1': []}   # partitions holding row 1
INDEXES = {'item': ['item_pkey'], 'part': ['part_pkey'], 'part_p1': ['part_p1_pkey']}
PHYSICAL_ROW = {'item': 'item#1', 'part': 'p1#1', 'part_p1': 'p1#1'}

NAMED = 'mx:n'


def named_needs():
    return [('lg_named', NAMED, 'Share')]


def row_needs(t):
    # SELECT 1 FROM t WHERE id = 1 FOR KEY SHARE: locks the table and the partition holding the
    # row ROW SHARE, with their primary-key indexes; then the tuple.
    needs = []
    for rel in [t] + ROW_PARTITION[t]:
        needs += [('rel', rel, 'RowShare')] + [('rel', i, 'RowShare') for i in INDEXES[rel]]
    needs += [('lg_row', t + '(1)', 'KeyShare'), ('row', PHYSICAL_ROW[t], 'KeyShare')]
    return needs


def table_needs(t):
    # LOCK TABLE t IN SHARE MODE: t and every child, recursively.
    return [('lg_table', t, 'Share')] + [('rel', r, 'Share') for r in [t] + CHILDREN[t]]


# Scopes: the call, and what it needs. Each takes the blocker's target table.
SCOPES = ['named', 'row', 'table', 'multi', 'try', 'run']


def scope_call(scope, t):
    rel = "'mx.%s'" % t
    if scope == 'named':
        return ("SELECT lockguard_acquire('%s', timeout_ms => %d, mode => 'shared')" % (NAMED, TIMEOUT_MS),
                named_needs())
    if scope == 'row':
        return ("SELECT lockguard_acquire_row(%s, 1, 'FOR KEY SHARE', timeout_ms => %d)" % (rel, TIMEOUT_MS),
                row_needs(t))
    if scope == 'table':
        return ("SELECT lockguard_acquire_table(%s, 'SHARE', timeout_ms => %d)" % (rel, TIMEOUT_MS),
                table_needs(t))
    both = ("ARRAY[lockguard.named_lock('%s', 'shared'), lockguard.row_lock(%s, 1, 'FOR KEY SHARE')]"
            % (NAMED, rel))
    if scope == 'multi':
        return ("SELECT lockguard_acquire_all(%s, timeout_ms => %d)" % (both, TIMEOUT_MS),
                named_needs() + row_needs(t))
    if scope == 'try':  # no wait at all: every step conditional
        return ("SELECT lockguard_try_acquire_all(%s)" % both, named_needs() + row_needs(t))
    if scope == 'run':
        return ("SELECT attempts FROM lockguard_run(%s, 'mx.work()'::regprocedure, max_attempts => %d, "
                "timeout_ms => %d, backoff_base_ms => 1, backoff_max_ms => 1)" % (both, RUN_ATTEMPTS, TIMEOUT_MS),
                named_needs() + row_needs(t))
    raise ValueError(scope)


# --- blockers ---------------------------------------------------------------------------------
# Each: name, target table, statements per session (session 0 holds; later sessions may queue,
# sent without waiting for them), what it holds and what it queues for (in the model's terms),
# the control probe (plain SQL that must fail with 55P03 at once, or a pg_locks check), and the
# teardown.
LG_HOLD_ALL = ("SELECT lockguard_acquire_all(ARRAY[lockguard.named_lock('mx:n'), "
               "lockguard.row_lock('mx.item', 1), lockguard.table_lock('mx.item', 'ROW EXCLUSIVE')])")
LG_HOLD_SHARED = ("SELECT lockguard_acquire_all(ARRAY[lockguard.named_lock('mx:n', 'shared'), "
                  "lockguard.row_lock('mx.item', 1, 'FOR KEY SHARE'), lockguard.table_lock('mx.item', 'ROW SHARE')])")
PROBE_ROW = "SELECT 1 FROM mx.item WHERE id = 1 FOR UPDATE NOWAIT"


def blockers():
    out = []
    for mode in MODES:
        out.append(dict(name='LOCK TABLE %s' % SQL_MODE[mode], target='item',
                        holder=['LOCK TABLE mx.item IN %s MODE' % SQL_MODE[mode]], queued=[],
                        holds=[('rel', 'item', mode)],
                        probe='LOCK TABLE mx.item IN ACCESS EXCLUSIVE MODE NOWAIT'))
    for strength in STRENGTHS:
        out.append(dict(name='SELECT %s' % SQL_STRENGTH[strength], target='item',
                        holder=['SELECT 1 FROM mx.item WHERE id = 1 %s' % SQL_STRENGTH[strength]], queued=[],
                        holds=[('rel', 'item', 'RowShare'), ('rel', 'item_pkey', 'RowShare'),
                               ('row', 'item#1', strength)],
                        probe=PROBE_ROW))
    out.append(dict(name='UPDATE', target='item', holder=['UPDATE mx.item SET v = v + 1 WHERE id = 1'], queued=[],
                    holds=[('rel', 'item', 'RowExclusive'), ('rel', 'item_pkey', 'RowExclusive'),
                           ('row', 'item#1', 'NoKeyUpdate')],
                    probe=PROBE_ROW))
    out.append(dict(name='REINDEX of the primary key', target='item', holder=['REINDEX INDEX mx.item_pkey'], queued=[],
                    holds=[('rel', 'item', 'Share'), ('rel', 'item_pkey', 'AccessExclusive')],
                    probe_timeout='SELECT 1 FROM mx.item WHERE id = 1'))
    out.append(dict(name='lock on the partition holding the row', target='part',
                    holder=['LOCK TABLE mx.part_p1 IN EXCLUSIVE MODE'], queued=[],
                    holds=[('rel', 'part_p1', 'Exclusive')],
                    probe_timeout='SELECT 1 FROM mx.part WHERE id = 1 FOR KEY SHARE'))
    out.append(dict(name='lock on the parent of the target partition', target='part_p1',
                    holder=['LOCK TABLE mx.part IN EXCLUSIVE MODE'], queued=[],
                    holds=[('rel', 'part', 'Exclusive'), ('rel', 'part_p1', 'Exclusive'),
                           ('rel', 'part_p2', 'Exclusive')],
                    probe_timeout='SELECT 1 FROM mx.part_p1 WHERE id = 1 FOR KEY SHARE'))
    out.append(dict(name='ACCESS EXCLUSIVE request queued ahead', target='item',
                    holder=['LOCK TABLE mx.item IN ACCESS SHARE MODE'],
                    queued=['LOCK TABLE mx.item IN ACCESS EXCLUSIVE MODE'],
                    holds=[('rel', 'item', 'AccessShare')], queues=[('rel', 'item', 'AccessExclusive')],
                    probe_timeout='SELECT 1 FROM mx.item'))
    out.append(dict(name='transaction-level advisory lock', target='item',
                    holder=['SELECT pg_advisory_xact_lock(4242)'], queued=[],
                    holds=[('adv', '4242', 'Exclusive')],
                    probe_false='SELECT pg_try_advisory_xact_lock(4242)'))
    out.append(dict(name='session-level advisory lock', target='item',
                    holder=['SELECT pg_advisory_lock(4243)'], queued=[], session_advisory=True,
                    holds=[('adv', '4243', 'Exclusive')],
                    probe_false='SELECT pg_try_advisory_xact_lock(4243)'))
    out.append(dict(name='lockguard holder', target='item', holder=[LG_HOLD_ALL], queued=[],
                    holds=[('lg_named', NAMED, 'Exclusive'), ('lg_row', 'item(1)', 'Update'),
                           ('row', 'item#1', 'Update'), ('rel', 'item', 'RowShare'),
                           ('lg_table', 'item', 'RowExclusive'), ('rel', 'item', 'RowExclusive')],
                    probe=PROBE_ROW))
    out.append(dict(name='lockguard waiter queued ahead', target='item', holder=[LG_HOLD_SHARED],
                    queued=["SELECT lockguard_acquire('mx:n', timeout_ms => 60000, mode => 'exclusive')",
                            "SELECT lockguard_acquire_row('mx.item', 1, 'FOR UPDATE', timeout_ms => 60000)",
                            "SELECT lockguard_acquire_table('mx.item', 'ACCESS EXCLUSIVE', timeout_ms => 60000)"],
                    holds=[('lg_named', NAMED, 'Share'), ('lg_row', 'item(1)', 'KeyShare'),
                           ('row', 'item#1', 'KeyShare'), ('rel', 'item', 'RowShare'),
                           ('lg_table', 'item', 'RowShare')],
                    queues=[('lg_named', NAMED, 'Exclusive'), ('lg_row', 'item(1)', 'Update'),
                            ('lg_table', 'item', 'AccessExclusive')],
                    probe=PROBE_ROW))
    out.append(dict(name='prepared transaction', target='item',
                    holder=['SELECT 1 FROM mx.item WHERE id = 1 FOR UPDATE', "PREPARE TRANSACTION 'mx_prepared'"],
                    queued=[], prepared=True,
                    holds=[('rel', 'item', 'RowShare'), ('row', 'item#1', 'Update')],
                    probe=PROBE_ROW))
    return out


def expected_blocked(needs, blocker):
    against = blocker['holds'] + blocker.get('queues', [])
    for kind, obj, mode in needs:
        for bkind, bobj, bmode in against:
            if kind == bkind and obj == bobj and conflicts(kind, mode, bmode):
                return True
    return False


# Caller settings: lock_timeout and statement_timeout, each unset, tight or loose.
LOCK_TIMEOUTS = [('unset', None), ('tight', 10), ('loose', 10000)]
STATEMENT_TIMEOUTS = [('unset', None), ('tight', 50), ('loose', 10000)]
SETTINGS = [(lt, st) for lt in LOCK_TIMEOUTS for st in STATEMENT_TIMEOUTS]


# --- plumbing ---------------------------------------------------------------------------------
def connect(autocommit=False, async_=False):
    conn = psycopg2.connect('', async_=1) if async_ else psycopg2.connect('')
    if async_:
        wait_ready(conn)
    else:
        conn.autocommit = autocommit
    return conn


def wait_ready(conn, timeout=30.0):
    import select
    end = time.time() + timeout
    while True:
        state = conn.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        if state == psycopg2.extensions.POLL_READ:
            select.select([conn.fileno()], [], [], max(0.0, end - time.time()))
        elif state == psycopg2.extensions.POLL_WRITE:
            select.select([], [conn.fileno()], [], max(0.0, end - time.time()))
        if time.time() > end:
            raise RuntimeError('async connection not ready')


def pid_of(conn):
    return conn.get_backend_pid()


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, desc))
        if not cond:
            self.failed += 1
            if diag:
                for line in str(diag).splitlines():
                    print('# ' + line)
        sys.stdout.flush()
        return cond


def probe_blocker(probe_conn, blocker):
    """The control: plain SQL that the blocker blocks, answered at once. Returns (ok, detail)."""
    cur = probe_conn.cursor()
    try:
        if 'probe_false' in blocker:
            cur.execute('BEGIN')
            cur.execute(blocker['probe_false'])
            got = cur.fetchone()[0]
            cur.execute('ROLLBACK')
            return got is False, 'try function returned %r' % got
        cur.execute('BEGIN')
        if 'probe_timeout' in blocker:
            cur.execute("SET LOCAL lock_timeout = '20ms'")
            cur.execute(blocker['probe_timeout'])
        else:
            cur.execute(blocker['probe'])
        cur.execute('ROLLBACK')
        return False, 'the probe was not blocked'
    except psycopg2.Error as e:
        cur.execute('ROLLBACK')
        return e.pgcode == '55P03', '%s %s' % (e.pgcode, e.pgerror)


def queued_count(probe_conn, pids):
    if not pids:
        return 0
    cur = probe_conn.cursor()
    cur.execute('SELECT count(*) FROM pg_locks WHERE NOT granted AND pid = ANY(%s)', (pids,))
    return cur.fetchone()[0]


def leftovers(probe_conn, pid):
    """What the caller still holds or publishes in lockguard's spaces (must be nothing)."""
    cur = probe_conn.cursor()
    cur.execute("SELECT (SELECT count(*) FROM lockguard.locks WHERE pid = %s) + "
                "(SELECT count(*) FROM pg_locks WHERE pid = %s AND locktype = 'advisory' "
                " AND objsubid IN (19527, 19528, 19529))", (pid, pid))
    return cur.fetchone()[0]


def names_real_blocker(detail, blocker, blocker_pids):
    """The 55P03 detail names the blocker's processes and no other: its holder or the waiters
    queued ahead by PID, or 'a prepared transaction' for a prepared one."""
    named = set(int(p) for p in re.findall(r'PID (\d+)', detail))
    if blocker.get('prepared'):
        return 'a prepared transaction' in detail and not named
    return bool(named) and named <= set(blocker_pids)


def run_case(victim, probe_conn, scope, blocker, setting, stats, blocker_pids):
    (lt_name, lt), (st_name, st) = setting
    sql, needs = scope_call(scope, blocker['target'])
    blocked = expected_blocked(needs, blocker)
    # Expected outcome
    if not blocked:
        expect = 'granted'
    elif scope == 'try':
        expect = 'busy'
    else:
        wait_ms = TIMEOUT_MS * (RUN_ATTEMPTS if scope == 'run' else 1)
        expect = '57014' if st is not None and st < wait_ms else '55P03'
    cur = victim.cursor()
    # The caller's lock_timeout is set for the session, not the transaction: a wait that left
    # PostgreSQL's variable changed would then still show after the ROLLBACK (only a GUC nest
    # level is undone by an abort), so the check below sees every path's restore.
    caller_lock_timeout = '%dms' % lt if lt is not None else '0'
    cur.execute("SET lock_timeout = %s", (caller_lock_timeout,))
    victim.commit()
    cur.execute('SHOW lock_timeout')
    shown_before = cur.fetchone()[0]
    victim.rollback()
    cur.execute('BEGIN')
    if st is not None:
        cur.execute("SET LOCAL statement_timeout = '%dms'" % st)
    timer = threading.Timer(WATCHDOG_S, victim.cancel)
    timer.start()
    started = time.monotonic()
    outcome, detail, result = None, '', None
    shown_in_transaction = None
    try:
        cur.execute(sql)
        result = cur.fetchone()[0]
        outcome = 'busy' if result == 'busy' else 'granted'
    except psycopg2.Error as e:
        outcome, detail = e.pgcode, (e.pgerror or '').strip()
    elapsed = (time.monotonic() - started) * 1000
    timer.cancel()
    left = leftovers(probe_conn, pid_of(victim)) if outcome != 'granted' else 0
    if outcome in ('granted', 'busy'):
        cur.execute('SHOW lock_timeout')
        shown_in_transaction = cur.fetchone()[0]
    cur.execute('ROLLBACK')
    cur.execute('SHOW lock_timeout')
    shown_after = cur.fetchone()[0]
    victim.rollback()
    cur.execute('RESET lock_timeout')
    victim.commit()

    problems = []
    if elapsed > WATCHDOG_S * 1000 - 100:
        problems.append('unbounded: cancelled by the watchdog after %.0f ms' % elapsed)
    if outcome != expect:
        problems.append('expected %s, got %s (%s)' % (expect, outcome, detail))
    if expect == 'granted' or expect == 'busy':
        bound_lo, bound_hi = 0, SLACK_MS
    elif expect == '55P03':
        per = TIMEOUT_MS
        bound_lo = per * (RUN_ATTEMPTS if scope == 'run' else 1)
        bound_hi = bound_lo + SLACK_MS * (RUN_ATTEMPTS if scope == 'run' else 1)
    else:
        bound_lo, bound_hi = st, st + SLACK_MS
    if outcome == expect:
        if elapsed < bound_lo - 2 or elapsed > bound_hi:
            problems.append('took %.1f ms, outside [%d, %d] ms' % (elapsed, bound_lo, bound_hi))
        stats['overshoot'] = max(stats['overshoot'], elapsed - bound_lo)
    if outcome == '55P03' and expect == '55P03':
        if 'lockguard' not in detail or 'is held by' not in detail:
            problems.append('not lockguard\'s 55P03: %s' % detail)
        if not names_real_blocker(detail, blocker, blocker_pids):
            problems.append('the real blocker (%s) is not named: %s' % (
                'a prepared transaction' if blocker.get('prepared') else
                ', '.join('PID %d' % p for p in blocker_pids), detail))
        if scope == 'run' and 'gave up after %d attempts' % RUN_ATTEMPTS not in detail:
            problems.append('lockguard_run did not retry: %s' % detail)
    if outcome == '57014' and 'statement timeout' not in detail:
        problems.append('a 57014 that is not the caller\'s statement_timeout: %s' % detail)
    if left:
        problems.append('%d lock(s) left held or published after %s' % (left, outcome))
    for when, shown in (('after the call', shown_in_transaction), ('after the rollback', shown_after)):
        if shown is not None and shown != shown_before:
            problems.append("the caller's lock_timeout was %s, %s it is %s" % (shown_before, when, shown))
    desc = '%s vs %s, lock_timeout %s, statement_timeout %s: %s in %.0f ms' % (
        scope, blocker['name'], lt_name, st_name, expect, elapsed)
    return desc, problems


def main():
    tap = Tap()
    scopes, kinds = SCOPES, blockers()
    print('1..%d' % (len(scopes) * len(kinds) * len(SETTINGS) + 2))
    # The conflict tables are symmetric, as PostgreSQL's are: a typo in them would show here.
    sym = all(conflicts('rel', a, b) == conflicts('rel', b, a) for a in MODES for b in MODES) and \
        all(conflicts('row', a, b) == conflicts('row', b, a) for a in STRENGTHS for b in STRENGTHS)
    tap.ok(sym, 'the conflict tables used for the expectations are symmetric')

    admin = connect(autocommit=True)
    admin.cursor().execute(SETUP)
    probe_conn = connect(autocommit=True)
    victim = connect()
    victim.cursor().execute('SELECT 1')
    victim.rollback()
    stats = {'overshoot': 0.0}
    cases = 0
    started = time.monotonic()
    for blocker in kinds:
        holder = connect()
        hcur = holder.cursor()
        waiters = []
        for stmt in blocker['holder']:
            hcur.execute(stmt)
        for stmt in blocker['queued']:
            w = connect(async_=True)
            w.cursor().execute('BEGIN; ' + stmt)
            waiters.append(w)
        # Waiters must really be queued before any case runs.
        deadline = time.time() + 10
        while queued_count(probe_conn, [pid_of(w) for w in waiters]) < len(waiters) and time.time() < deadline:
            time.sleep(0.01)
        queued_ok = queued_count(probe_conn, [pid_of(w) for w in waiters]) == len(waiters)
        blocker_pids = [pid_of(holder)] + [pid_of(w) for w in waiters]
        for scope in scopes:
            for setting in SETTINGS:
                live, why = probe_blocker(probe_conn, blocker)
                if not queued_ok:
                    live, why = False, 'the waiters ahead are not queued'
                desc, problems = run_case(victim, probe_conn, scope, blocker, setting, stats, blocker_pids)
                if not live:
                    problems.insert(0, 'control failed: %s' % why)
                tap.ok(not problems, desc, '\n'.join(problems))
                cases += 1
        # Teardown: the holder first (releasing queued waiters), then the waiters.
        if blocker.get('prepared'):
            holder.rollback()  # the prepared transaction is no longer this session's
            holder.autocommit = True
            hcur.execute("ROLLBACK PREPARED 'mx_prepared'")
        else:
            holder.rollback()
        if blocker.get('session_advisory'):
            holder.rollback()
            holder.autocommit = True
            hcur.execute('SELECT pg_advisory_unlock_all()')
        holder.close()
        for w in waiters:
            try:
                w.cancel()
            except psycopg2.Error:
                pass
            w.close()
    total = time.monotonic() - started
    want = len(scopes) * len(kinds) * len(SETTINGS)
    tap.ok(cases == want, 'case count %d = %d scopes x %d blockers x %d settings' % (
        cases, len(scopes), len(kinds), len(SETTINGS)))
    print('# %d cases in %.1f s; largest time past the expected moment: %.1f ms (slack %d ms)' % (
        cases, total, stats['overshoot'], SLACK_MS))
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
