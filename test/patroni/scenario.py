#!/usr/bin/python3
"""lockguard under Patroni: a one-member etcd and two Patroni-managed PostgreSQL nodes on loopback,
a stream of run-once transfers through a multi-host connection string, a switchover and then a
failover (the leader's Patroni and PostgreSQL killed with SIGKILL) mid-stream. Asserts what
test/t/010_failover.pl asserts (every acknowledged transfer exactly once, balances, tokens only go
up, a stale token rejected with LG003, the lockguard worker on the new leader), and shows an etcd
lock's revision used as the fencing token lockguard checks. Prints TAP.

Run by test/patroni/run.sh as the postgres user (see docs/failover.md); everything it starts it
stops, also when an assertion or a step fails.
"""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request

import psycopg2

WORK = os.environ['LG_PATRONI_WORK']
BINDIR = os.environ['LG_BINDIR']
PORT = int(os.environ['LG_PATRONI_PORT'])
HERE = os.path.dirname(os.path.abspath(__file__))

ETCD_PORT, ETCD_PEER_PORT = PORT, PORT + 1
NODES = {'node1': {'rest': PORT + 2, 'pg': PORT + 4}, 'node2': {'rest': PORT + 3, 'pg': PORT + 5}}
for _name, _node in NODES.items():
    _node['dir'] = os.path.join(WORK, _name)
    _node['data'] = os.path.join(_node['dir'], 'data')
ETCD_ENDPOINT = '127.0.0.1:%d' % ETCD_PORT
SCOPE = 'lockguard-demo'

ACCOUNTS = 4
INITIAL_BALANCE = 1000
PER_PHASE = 20          # transfers acknowledged in each phase (before, between, after)
STREAM_CLIENTS = 2
PAUSE = 0.02            # between a client's transfers: a stream, not a flood that starves Patroni
RETRYABLE = {'40001', '40P01', '55P03', '25006', '57P01', '57P02', '57P03'}  # docs/failover.md

# Every wait below polls for its condition; these are only the limits after which it fails.
WAIT_CLUSTER = 180
WAIT_ROLE_CHANGE = 120
WAIT_STREAM = 120
RETRY_DEADLINE = 150


def log(msg):
    sys.stderr.write('%s %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


# ---------------------------------------------------------------- TAP

class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, name), flush=True)
        if not cond and diag is not None:
            for line in str(diag).splitlines():
                print('#   %s' % line, flush=True)
        return cond

    def eq(self, got, expected, name):
        return self.ok(got == expected, name, 'got:      %r\nexpected: %r' % (got, expected))

    def note(self, msg):
        print('# %s' % msg, flush=True)


tap = Tap()


class Bail(Exception):
    """A step the rest depends on failed: reported as a failed test, then everything stops."""


def require(cond, name, diag=None):
    if not tap.ok(cond, name, diag):
        raise Bail(name)


def wait_for(what, timeout, probe, interval=0.2):
    """Polls probe() until it returns something true; returns it, or None after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
        except Exception as e:  # a server that is not up yet
            value = None
            last = e
        else:
            last = None
        if value:
            return value
        if time.monotonic() > deadline:
            log('gave up waiting for %s%s' % (what, ' (%s)' % last if last else ''))
            return None
        time.sleep(interval)


# ---------------------------------------------------------------- processes

procs = {}


def start_process(name, argv, logfile, env=None):
    out = open(logfile, 'ab')
    p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True, env=env)
    out.close()
    procs[name] = p
    # For run.sh's clean-up, should this driver itself be killed.
    with open(os.path.join(WORK, 'pids'), 'a') as f:
        f.write('%d %s\n' % (p.pid, name))
    log('started %s (pid %d)' % (name, p.pid))
    return p


def process_state(pid):
    """The state letter of a process ('R', 'S', 'T', 'Z', ...), or None if there is none."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0]   # after "pid (comm)"
    except (OSError, IndexError):
        return None


def postmaster_pid(node):
    """The pid of the node's running postmaster (a zombie not yet reaped counts as gone)."""
    try:
        with open(os.path.join(NODES[node]['data'], 'postmaster.pid')) as f:
            pid = int(f.readline())
    except (OSError, ValueError):
        return None
    return pid if process_state(pid) not in (None, 'Z', 'X') else None


def process_states():
    """{pid: (state letter, parent pid)} of every process."""
    states = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/stat' % entry) as f:
                    fields = f.read().rsplit(')', 1)[1].split()   # after "pid (comm)"
            except OSError:
                continue
            states[int(entry)] = (fields[0], int(fields[1]))
    return states


def kill_node(node):
    """The node's machine dies: Patroni and PostgreSQL (the postmaster and every child of it)
    are frozen with SIGSTOP, then killed with SIGKILL. Frozen first, so that none of them runs in
    between: a postmaster would log its children's deaths, children would log the postmaster's,
    and a machine that dies logs nothing."""
    log('killing %s: Patroni and PostgreSQL' % node)
    procs['patroni-' + node].kill()
    procs['patroni-' + node].wait()
    pm = postmaster_pid(node)
    if not pm:
        return
    os.kill(pm, signal.SIGSTOP)   # first, so that it starts no further child
    wait_for('the postmaster of %s to stop' % node, 10, lambda: process_state(pm) in (None, 'T', 't', 'Z', 'X'),
             interval=0.01)
    # Every child calls setsid(): they are found by their parent, not by a process group.
    victims = [pm] + [pid for pid, (_, parent) in process_states().items() if parent == pm]
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in victims:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:   # a child that had just exited
                pass
        if sig == signal.SIGSTOP:
            wait_for('the processes of %s to stop' % node, 10,
                     lambda: all(process_state(pid) in (None, 'T', 't', 'Z', 'X') for pid in victims), interval=0.01)
    wait_for('the postmaster of %s to go' % node, 30, lambda: postmaster_pid(node) is None)


def stop_everything():
    for name, p in procs.items():
        if name.startswith('patroni-') and p.poll() is None:
            p.terminate()   # Patroni stops its PostgreSQL, then exits
    for name, p in procs.items():
        if name.startswith('patroni-'):
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    for node in NODES:
        pm = postmaster_pid(node)
        if pm:
            os.kill(pm, signal.SIGCONT)   # in case a failed kill_node left it frozen
            subprocess.run([os.path.join(BINDIR, 'pg_ctl'), '-D', NODES[node]['data'], '-m', 'immediate',
                            '-w', 'stop'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for name, p in procs.items():
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


# ---------------------------------------------------------------- etcd and Patroni

def etcdctl(*args, **kw):
    return subprocess.run(['etcdctl', '--endpoints=' + ETCD_ENDPOINT] + list(args), env=dict(os.environ, ETCDCTL_API='3'),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def start_etcd():
    os.makedirs(os.path.join(WORK, 'etcd'))
    start_process('etcd', [
        'etcd', '--name', 'lg-etcd', '--data-dir', os.path.join(WORK, 'etcd', 'data'),
        '--listen-client-urls', 'http://' + ETCD_ENDPOINT, '--advertise-client-urls', 'http://' + ETCD_ENDPOINT,
        '--listen-peer-urls', 'http://127.0.0.1:%d' % ETCD_PEER_PORT,
        '--initial-advertise-peer-urls', 'http://127.0.0.1:%d' % ETCD_PEER_PORT,
        '--initial-cluster', 'lg-etcd=http://127.0.0.1:%d' % ETCD_PEER_PORT,
        '--initial-cluster-state', 'new'], os.path.join(WORK, 'etcd', 'etcd.log'))
    healthy = wait_for('etcd', 60, lambda: etcdctl('endpoint', 'health', timeout=10).returncode == 0)
    require(healthy, 'etcd (one member) answers on %s' % ETCD_ENDPOINT)


def patroni_config(node):
    """Patroni's configuration for one node (JSON is YAML). docs/failover.md shows the lockguard part."""
    n = NODES[node]
    return {
        'scope': SCOPE,
        'namespace': '/service/',
        'name': node,
        'log': {'level': 'INFO'},
        'restapi': {'listen': '127.0.0.1:%d' % n['rest'], 'connect_address': '127.0.0.1:%d' % n['rest']},
        'etcd3': {'hosts': ETCD_ENDPOINT},
        'bootstrap': {
            'dcs': {
                # Short timings so that the failover takes seconds: the leader key lives ttl s.
                'ttl': 10, 'loop_wait': 1, 'retry_timeout': 4,
                'maximum_lag_on_failover': 1048576,
                # A commit is acknowledged once the synchronous standby has it, and only that
                # standby may be promoted: acknowledged run-once claims survive the failover.
                'synchronous_mode': True,
                'postgresql': {
                    'use_pg_rewind': False,
                    'parameters': {
                        'shared_preload_libraries': 'lockguard',
                        'lockguard.database': 'postgres',
                        'wal_level': 'replica', 'hot_standby': 'on', 'wal_log_hints': 'on',
                        'max_wal_senders': 10, 'max_replication_slots': 10,
                        'fsync': 'off',   # test speed; processes are killed here, not machines
                    },
                },
            },
            'initdb': [{'encoding': 'UTF8'}, {'locale': 'C.UTF-8'}],
            # Runs once, on the node that bootstraps the cluster; the standby gets it by streaming.
            'post_bootstrap': "%s -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION lockguard'" % os.path.join(BINDIR, 'psql'),
        },
        'postgresql': {
            'listen': '127.0.0.1:%d' % n['pg'],
            'connect_address': '127.0.0.1:%d' % n['pg'],
            'data_dir': n['data'],
            'bin_dir': BINDIR,
            'pgpass': os.path.join(n['dir'], 'pgpass'),
            'authentication': {
                'superuser': {'username': 'postgres', 'password': 'lg-super'},
                'replication': {'username': 'replicator', 'password': 'lg-repl'},
            },
            'pg_hba': ['local all all trust', 'host all all 127.0.0.1/32 trust',
                       'host replication all 127.0.0.1/32 trust'],
            'basebackup': [{'checkpoint': 'fast'}],
            'parameters': {
                'unix_socket_directories': n['dir'],
                'logging_collector': 'on',
                'log_directory': os.path.join(n['dir'], 'pglog'),
                'log_filename': 'postgresql-%Y%m%d-%H%M%S.log',
                'log_line_prefix': '%m [%p] %q%a ',
            },
        },
        'watchdog': {'mode': 'off'},
        'tags': {'nofailover': False, 'noloadbalance': False, 'clonefrom': False},
    }


def config_path(node):
    return os.path.join(NODES[node]['dir'], 'patroni.yml')


def start_patroni(node):
    os.makedirs(NODES[node]['dir'], mode=0o700, exist_ok=True)
    with open(config_path(node), 'w') as f:
        json.dump(patroni_config(node), f, indent=2)
    start_process('patroni-' + node, ['patroni', config_path(node)], os.path.join(NODES[node]['dir'], 'patroni.log'))


def rest(node, path):
    with urllib.request.urlopen('http://127.0.0.1:%d%s' % (NODES[node]['rest'], path), timeout=5) as r:
        return json.loads(r.read().decode())


def rest_status(node, path):
    """The HTTP status of a GET on a node's Patroni REST API (what a proxy's health check sees)."""
    try:
        with urllib.request.urlopen('http://127.0.0.1:%d%s' % (NODES[node]['rest'], path), timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def cluster_state(via):
    """{name: member} from Patroni's /cluster on a running node."""
    return {m['name']: m for m in rest(via, '/cluster')['members']}


def has_leader_and_sync(via, leader, standby):
    members = cluster_state(via)
    return (members.get(leader, {}).get('role') == 'leader'
            and members.get(leader, {}).get('state') == 'running'
            and members.get(standby, {}).get('role') == 'sync_standby'
            and members.get(standby, {}).get('state') in ('running', 'streaming')
            and sql(leader, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") == 1)


def is_sole_leader(node):
    members = cluster_state(node)
    return members.get(node, {}).get('role') == 'leader' and sql(node, 'SELECT NOT pg_is_in_recovery()')


def patronictl(*args):
    return subprocess.run(['patronictl', '-c', config_path('node1')] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120)


# ---------------------------------------------------------------- SQL

def dsn(node):
    return 'host=127.0.0.1 port=%d dbname=postgres user=postgres connect_timeout=5' % NODES[node]['pg']


# The application's connection string: every node, and libpq keeps the one that accepts writes.
CLIENT_DSN = ('host=127.0.0.1,127.0.0.1 port=%d,%d dbname=postgres user=postgres '
              'target_session_attrs=read-write connect_timeout=3' % (NODES['node1']['pg'], NODES['node2']['pg']))


def sql(node_or_dsn, query, args=None, all_rows=False):
    conn = psycopg2.connect(dsn(node_or_dsn) if node_or_dsn in NODES else node_or_dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(query, args)
            if cur.description is None:
                return None
            rows = cur.fetchall()
            return rows if all_rows else rows[0][0]
    finally:
        conn.close()


def sql_error(node, query, args=None):
    """Runs query expecting an error: returns (sqlstate, message with detail) or (None, None)."""
    try:
        sql(node, query, args)
    except psycopg2.Error as e:
        return e.pgcode, (e.pgerror or str(e))
    return None, None


def wal_timeline(node):
    return sql(node, "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int")


# The bank: the fixture the Perl failover test (test/t/010_failover.pl) sets up too, run with psql
# (it sets the fixture's variables).
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'failover.sql')


def create_bank(node):
    subprocess.run([os.path.join(BINDIR, 'psql'), '-X', '-q', '-v', 'ON_ERROR_STOP=1',
                    '-v', 'accounts=%d' % ACCOUNTS, '-v', 'initial_balance=%d' % INITIAL_BALANCE,
                    '-f', FIXTURE, '-d', dsn(node)], check=True, stdout=subprocess.DEVNULL)


ETCD_LEDGER = """
-- Written by holders of an etcd lock; the etcd revision is the fencing token (docs/failover.md).
CREATE TABLE etcd_ledger (id serial PRIMARY KEY, resource text NOT NULL, writer text NOT NULL,
                          fence bigint);
CREATE TRIGGER fence BEFORE INSERT OR UPDATE ON etcd_ledger FOR EACH ROW
    EXECUTE FUNCTION lockguard.fencing_token_guard('resource', 'fence');
"""


# ---------------------------------------------------------------- the client

def transfer_args(i):
    return (i % ACCOUNTS) + 1, ((i + 1) % ACCOUNTS) + 1, i % 97 + 1


class Client:
    """One application connection with docs/failover.md's retry loop: the same key on every
    attempt, retry connection errors and the retryable SQLSTATEs with backoff, nothing else."""

    def __init__(self, name):
        self.name = name
        self.conn = None
        self.failed_attempts = {}
        self.abandoned = False

    def _connection(self):
        if self.conn is None or self.conn.closed:
            self.conn = psycopg2.connect(CLIENT_DSN, application_name=self.name)
            self.conn.autocommit = True
        return self.conn

    def drop(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg2.Error:
                pass
        self.conn = None

    def attempt(self, key, i):
        with self._connection().cursor() as cur:
            cur.execute('SELECT transfer(%s, %s, %s, %s)', (key,) + transfer_args(i))
            return cur.fetchone()[0]

    def transfer(self, key, i):
        """Returns (token, replayed) once the transfer is acknowledged."""
        deadline = time.monotonic() + RETRY_DEADLINE
        delay = 0.05
        while True:
            try:
                result = self.attempt(key, i)
                return int(result['token']), bool(result['replayed'])
            except psycopg2.Error as e:
                self.drop()
                state = e.pgcode or 'connection'
                self.failed_attempts[state] = self.failed_attempts.get(state, 0) + 1
                if state != 'connection' and state not in RETRYABLE:
                    raise RuntimeError('%s: %s failed with %s, which is not retryable: %s' % (self.name, key, state, e))
                if self.abandoned:
                    raise RuntimeError('%s: abandoned %s' % (self.name, key))
                if time.monotonic() + delay > deadline:
                    raise RuntimeError('%s: %s was never acknowledged (last: %s)' % (self.name, key, state))
                time.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, 1.0)


class Stream:
    """Clients that each run transfers back to back until stopped. acks: key -> ack record."""

    def __init__(self):
        self.phase = 'tl1'
        self.acks = {}
        self.seq = 0
        self.mutex = threading.Lock()
        self.stopping = threading.Event()
        self.errors = []
        self.clients = [Client('stream-%d' % c) for c in range(STREAM_CLIENTS)]
        self.threads = [threading.Thread(target=self._run, args=(c, cl), daemon=True)
                        for c, cl in enumerate(self.clients)]

    def _run(self, c, client):
        n = 0
        while not self.stopping.is_set():
            n += 1
            key = 'op-%d-%d' % (c, n)
            try:
                token, replayed = client.transfer(key, c * 1000 + n)
            except Exception as e:
                self.errors.append(str(e))
                return
            self.record(key, token, replayed)
            time.sleep(PAUSE)
        client.drop()

    def record(self, key, token, replayed):
        with self.mutex:
            self.seq += 1
            self.acks[key] = {'token': token, 'replayed': replayed, 'phase': self.phase, 'seq': self.seq}

    def set_phase(self, phase):
        with self.mutex:
            self.phase = phase
        log('phase %s (%d transfers acknowledged so far)' % (phase, len(self.acks)))

    def count(self, phase):
        with self.mutex:
            return sum(1 for a in self.acks.values() if a['phase'] == phase)

    def run_until(self, phase, n):
        """Waits until n transfers were acknowledged in phase (and no client died)."""
        return wait_for('%d acknowledgements in phase %s' % (n, phase), WAIT_STREAM,
                        lambda: self.errors or self.count(phase) >= n) and not self.errors

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self, abandon=False):
        """Lets every client finish the transfer it is at (so that each transfer it ran is
        acknowledged), or with abandon, makes them give up at their next retry."""
        if abandon:
            for client in self.clients:
                client.abandoned = True
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=5 if abandon else RETRY_DEADLINE + 30)
            if t.is_alive() and not abandon:
                self.errors.append('a client did not finish its last transfer')


def lose_acknowledgement(key, i):
    """Runs a transfer that commits, and forgets its answer (a client that crashed on receipt)."""
    result = sql(CLIENT_DSN, 'SELECT transfer(%s, %s, %s, %s)', (key,) + transfer_args(i))
    return int(result['token'])


# ---------------------------------------------------------------- the etcd lock as fencing token

def etcd_lock_demo(tap):
    """Kleppmann's example: A takes the etcd lock and writes with its revision; A stalls (its
    etcdctl is stopped, so its lease expires); B takes the lock (a higher revision) and writes;
    A wakes and writes with its old revision: lockguard rejects it with LG003."""
    demo = os.path.join(WORK, 'etcd-lock')
    os.makedirs(demo)
    lock_name = '/lockguard-demo/locks/ledger'
    writer = [sys.executable, os.path.join(HERE, 'fenced_write.py'), '--conninfo', CLIENT_DSN,
              '--resource', 'etcd:ledger']
    a_out, b_out, a_ready, a_go = (os.path.join(demo, f) for f in ('a.json', 'b.json', 'a.ready', 'a.go'))
    env = dict(os.environ, ETCDCTL_API='3')
    holder_a = start_process('etcdctl-lock-a', ['etcdctl', '--endpoints=' + ETCD_ENDPOINT, 'lock', '--ttl', '2', lock_name, '--']
                             + writer + ['--writer', 'A', '--out', a_out, '--ready-file', a_ready, '--then-wait-for', a_go],
                             os.path.join(demo, 'a.log'), env=env)
    try:
        if not tap.ok(wait_for('holder A', 60, lambda: os.path.exists(a_ready)), 'etcd lock: holder A took the lock and wrote'):
            return
        os.kill(holder_a.pid, signal.SIGSTOP)   # A stalls: no keep-alive, its lease runs out
        b = subprocess.run(['etcdctl', '--endpoints=' + ETCD_ENDPOINT, 'lock', '--ttl', '10', lock_name, '--']
                           + writer + ['--writer', 'B', '--out', b_out], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=90)
        tap.ok(b.returncode == 0, 'etcd lock: holder B took the lock once A\'s lease expired', b.stdout)
        open(a_go, 'w').close()                  # A wakes up and writes again, with its old revision
        tap.ok(wait_for('holder A\'s late write', 60, lambda: os.path.exists(a_out)), 'etcd lock: holder A tried again')
    finally:
        os.killpg(holder_a.pid, signal.SIGKILL)   # etcdctl and, if still there, its writer
        holder_a.wait()
    a, b = (json.load(open(f)) if os.path.exists(f) else {'writes': []} for f in (a_out, b_out))
    rev_a, rev_b = a.get('revision'), b.get('revision')
    tap.note('etcd lock revisions: A %s (key %s), B %s (key %s)' % (rev_a, a.get('key'), rev_b, b.get('key')))
    tap.ok(rev_a and rev_b and rev_b > rev_a, 'etcd lock: the later holder has the higher revision')
    tap.eq([w.get('sqlstate') for w in a['writes']], [None, 'LG003'],
           'etcd lock: A\'s write under the lock is accepted, its write after losing the lock rejected with LG003')
    tap.eq([w.get('sqlstate') for w in b['writes']], [None], 'etcd lock: B\'s write is accepted')
    tap.eq(sql(CLIENT_DSN, "SELECT string_agg(writer || ':' || fence, ',' ORDER BY id) FROM etcd_ledger"),
           'A:%s,B:%s' % (rev_a, rev_b), 'etcd lock: the ledger holds A\'s first write and B\'s, not A\'s late one')
    state, message = sql_error(CLIENT_DSN, "SELECT lockguard.check_fencing_token('etcd:ledger', %s)", (rev_a,))
    tap.ok(state == 'LG003' and 'older than token %s' % rev_b in message,
           'etcd lock: check_fencing_token rejects A\'s revision, naming B\'s', message)


# ---------------------------------------------------------------- the scenario

def scenario():
    start_etcd()
    for node in NODES:
        start_patroni(node)
    require(wait_for('node1 leading, node2 synchronous', WAIT_CLUSTER,
                     lambda: has_leader_and_sync('node1', 'node1', 'node2') or has_leader_and_sync('node1', 'node2', 'node1')),
            'Patroni: a leader and a streaming synchronous standby')
    leader = next(n for n, m in cluster_state('node1').items() if m['role'] == 'leader')
    standby = 'node2' if leader == 'node1' else 'node1'
    tap.note('leader %s, synchronous standby %s' % (leader, standby))
    for node in NODES:
        tap.eq(sql(node, 'SHOW shared_preload_libraries'), 'lockguard', '%s preloads lockguard' % node)
    tap.eq(sql(leader, "SELECT extversion FROM pg_extension WHERE extname = 'lockguard'"),
           sql(leader, "SELECT default_version FROM pg_available_extensions WHERE name = 'lockguard'"),
           'post_bootstrap created the extension (its default version) on the leader')
    create_bank(leader)
    sql(leader, ETCD_LEDGER)
    require(wait_for('the schema on the standby', 60,
                     lambda: sql(standby, "SELECT to_regproc('transfer') IS NOT NULL AND "
                                          "EXISTS (SELECT FROM pg_extension WHERE extname = 'lockguard')")),
            'the standby has the extension and the schema (streamed)')
    state, message = sql_error(standby, "SELECT lockguard.fencing_token('bank')")
    tap.eq(state, '25006', 'the standby refuses to issue fencing tokens (25006)')
    state, message = sql_error(standby, "SELECT transfer('op-on-standby', 1, 2, 3)")
    tap.eq(state, '25006', 'the standby refuses a transfer\'s claim (25006, which clients retry)')
    tap.eq((rest_status(leader, '/primary'), rest_status(standby, '/primary')), (200, 503),
           'Patroni REST GET /primary: 200 on the leader, 503 on the standby (a proxy\'s health check)')

    stream = Stream()
    stream.start()
    try:
        # 1. Before the switchover.
        require(stream.run_until('tl1', PER_PHASE), '%d transfers acknowledged on the first leader' % PER_PHASE,
                stream.errors)
        lost1 = lose_acknowledgement('op-lost-1', 1)

        # 2. Switchover, mid-stream.
        stream.set_phase('switchover')
        switch = patronictl('switchover', '--leader', leader, '--candidate', standby, '--force', SCOPE)
        tap.ok(switch.returncode == 0, 'patronictl switchover %s -> %s' % (leader, standby), switch.stdout)
        require(wait_for('%s leading, %s synchronous' % (standby, leader), WAIT_ROLE_CHANGE,
                         lambda: has_leader_and_sync(standby, standby, leader)),
                'after the switchover %s leads and %s follows as synchronous standby' % (standby, leader))
        leader, standby = standby, leader
        tap.eq(wal_timeline(leader), 2, 'the new leader writes timeline 2')
        stream.set_phase('tl2')
        require(stream.run_until('tl2', PER_PHASE), '%d transfers acknowledged after the switchover' % PER_PHASE,
                stream.errors)
        lost2 = lose_acknowledgement('op-lost-2', 2)

        # 3. A transfer in flight on the leader when it dies: claimed, locked, token issued, money
        # moved, not committed. It holds lockguard's lock: the stream waits behind it.
        zombie = psycopg2.connect(dsn(leader))
        with zombie.cursor() as cur:
            cur.execute("SELECT transfer('op-zombie', %s, %s, %s)", transfer_args(3))
            zombie_token = int(cur.fetchone()[0]['token'])
        # 4. Failover: the leader's machine dies, mid-stream.
        stream.set_phase('failover')
        worker_query = "SELECT count(*) FROM pg_stat_activity WHERE backend_type ILIKE '%lockguard%'"
        workers_before = sql(leader, worker_query)
        tap.note('lockguard background workers on %s before the failover: %d' % (leader, workers_before))
        kill_node(leader)
        try:
            zombie.close()
        except psycopg2.Error:
            pass
        require(wait_for('%s leading' % standby, WAIT_ROLE_CHANGE, lambda: is_sole_leader(standby)),
                'after %s was killed, Patroni promoted %s' % (leader, standby))
        leader = standby
        tap.eq(wal_timeline(leader), 3, 'the new leader writes timeline 3')
        tap.ok(wait_for('synchronous_standby_names cleared', 60,
                        lambda: sql(leader, 'SHOW synchronous_standby_names') == ''),
               'Patroni cleared synchronous_standby_names on the new leader, which has no standby')
        stream.set_phase('tl3')
        require(stream.run_until('tl3', PER_PHASE), '%d transfers acknowledged after the failover' % PER_PHASE,
                stream.errors)
    except BaseException:
        stream.stop(abandon=True)   # a step failed, or SIGTERM: no client may keep us waiting
        raise
    stream.stop()
    tap.ok(not stream.errors, 'no client met an error it may not retry, nor gave up', '\n'.join(stream.errors))
    tap.note('failed attempts the clients retried: %s' % ', '.join(
        '%s %s' % (client.name, client.failed_attempts) for client in stream.clients))

    # 5. The operations whose acknowledgement the client lacks, retried on the new leader.
    retrier = Client('retrier')
    retried = {key: retrier.transfer(key, i) for key, i in (('op-lost-1', 1), ('op-lost-2', 2))}
    retried['op-zombie'] = retrier.transfer('op-zombie', 3)
    retrier.drop()
    tap.eq(retried['op-lost-1'], (lost1, True), 'op-lost-1 (committed before the switchover, answer lost) is replayed with its token')
    tap.eq(retried['op-lost-2'], (lost2, True), 'op-lost-2 (committed before the failover, answer lost) is replayed with its token')
    tap.ok(not retried['op-zombie'][1], 'op-zombie (in flight when the leader died) runs on the new leader')

    acks = dict(stream.acks)
    for key, (token, replayed) in retried.items():
        acks[key] = {'token': token, 'replayed': replayed, 'phase': 'retry', 'seq': None}

    # 6. Exactly once.
    rows = sql(leader, "SELECT key, token, (lockguard.fencing_token_parts(token)).timeline FROM transfer_log",
               all_rows=True)
    logged = {}
    for key, token, timeline in rows:
        logged.setdefault(key, []).append((token, timeline))
    tap.note('%d transfers acknowledged (%s)' % (len(acks), ', '.join(
        '%s %d' % (p, sum(1 for a in acks.values() if a['phase'] == p)) for p in ('tl1', 'switchover', 'tl2', 'failover', 'tl3', 'retry'))))
    tap.eq(len(rows), len(logged), 'transfer_log: no transfer ran twice')
    tap.eq(sorted(k for k in acks if len(logged.get(k, [])) != 1), [], 'every acknowledged transfer is there exactly once')
    tap.eq(sorted(set(logged) - set(acks)), [], 'every transfer there was acknowledged')
    tap.eq(sorted(k for k, a in acks.items() if logged.get(k, [(None,)])[0][0] != a['token']), [],
           'every acknowledgement carried the token of the transfer that was kept')
    tap.eq(sql(leader, "SELECT count(*) FROM transfer_log t JOIN lockguard.operations o ON o.key = t.key "
                       "WHERE o.completed_at IS NOT NULL AND (o.result->>'token')::bigint = t.token"),
           len(rows), 'every transfer is a completed run-once operation with its token as result')

    # 7. Balances add up.
    tap.eq(sql(leader, 'SELECT sum(balance) FROM accounts'), ACCOUNTS * INITIAL_BALANCE, 'the total balance is unchanged')
    tap.eq(sql(leader, """SELECT count(*) FROM accounts a WHERE a.balance <> %s
                 - coalesce((SELECT sum(amount) FROM transfer_log WHERE src = a.id), 0)
                 + coalesce((SELECT sum(amount) FROM transfer_log WHERE dst = a.id), 0)""" % INITIAL_BALANCE),
           0, 'every balance is the initial balance plus the logged transfers')

    # 8. Tokens only go up.
    tap.eq(sql(leader, "SELECT count(*) FROM (SELECT token <= lag(token) OVER (ORDER BY lsn) AS down FROM transfer_log) s "
                       "WHERE down"),
           0, 'in the order the transfers wrote (WAL position, across both promotions), every token is above the one before')

    def tokens(*phases):
        return [a['token'] for a in acks.values() if a['phase'] in phases and not a['replayed']]

    tap.ok(min(tokens('tl2')) > max(tokens('tl1') + [lost1]),
           'every token issued after the switchover is above every token acknowledged before it')
    tap.ok(min(tokens('tl3')) > max(tokens('tl1', 'switchover', 'tl2') + [lost1, lost2, zombie_token]),
           'every token issued after the failover is above every token issued before it (the in-flight one too)')
    timelines = {phase: sorted({tl for k, a in acks.items() if a['phase'] == phase and not a['replayed']
                                for _, tl in logged.get(k, [])}) for phase in ('tl1', 'tl2', 'tl3')}
    tap.eq(timelines, {'tl1': [1], 'tl2': [2], 'tl3': [3]}, 'tokens carry the timeline of the leader that issued them')

    # 9. Stale tokens are rejected on the new leader.
    state, message = sql_error(leader, 'UPDATE accounts SET balance = balance + 1000000, token = %s WHERE id = 1',
                               (zombie_token,))
    tap.ok(state == 'LG003' and 'stale fencing token for resource "bank"' in message,
           'a write carrying the in-flight transfer\'s token (issued on the dead leader) is rejected with LG003', message)
    for what, token in (('before the switchover', max(tokens('tl1'))), ('before the failover', max(tokens('tl2')))):
        state, message = sql_error(leader, "SELECT lockguard.check_fencing_token('bank', %s)", (token,))
        tap.eq(state, 'LG003', 'check_fencing_token rejects the newest token acknowledged %s' % what)

    # 10. lockguard on the new leader: no lock left over, its worker runs.
    tap.eq(sql(leader, 'SELECT count(*) FROM lockguard.locks'), 0, 'new leader: no lockguard lock held once the stream stopped')
    tap.ok(wait_for('the lockguard worker on %s' % leader, 60, lambda: sql(leader, worker_query) > 0),
           'new leader: the lockguard background worker runs')

    # 11. An etcd lock's revision as the fencing token.
    etcd_lock_demo(tap)


def on_sigterm(*_):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)   # one is enough: let the clean-up finish
    sys.exit(143)                                    # raised here, it runs main's clean-up


def main():
    os.makedirs(WORK, exist_ok=True)
    with open(os.path.join(WORK, 'pids'), 'a') as f:   # run.sh kills this first if it must
        f.write('%d driver\n' % os.getpid())
    signal.signal(signal.SIGTERM, on_sigterm)
    started = time.monotonic()
    try:
        scenario()
    except Bail as e:
        print('# stopped after a failed step: %s' % e, flush=True)
    except BaseException as e:   # an unexpected error, or SIGTERM (sys.exit in the handler)
        tap.ok(False, 'the scenario ran to its end', repr(e))
        if not isinstance(e, SystemExit):
            traceback.print_exc()
    finally:
        log('stopping everything')
        stop_everything()
    print('1..%d' % tap.n, flush=True)
    print('# %d passed, %d failed in %.0f s' % (tap.n - tap.failed, tap.failed, time.monotonic() - started), flush=True)
    return 1 if tap.failed or tap.n == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
