# What the lockguard worker costs: it samples the wait graph only while some process waits for a
# lock (any lock: a plain row wait counts), measures the CPU time of every sample, and runs its
# queries without JIT whatever postgresql.conf says. What it samples, lockguard._lock_waits(),
# has exactly pg_blocking_pids()'s edges over generated waits of every kind. Its cycles persist
# audit entries exactly once, a cycle with nothing new does not touch lockguard.audit_log, and
# retention does not copy back what it deleted.
use strict;
use warnings;

BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use LgRetention;

my $node = PostgreSQL::Test::Cluster->new('worker_cost');
$node->init;
# sample_interval_ms = 100: ten chances a second to sample when it should not.
# jit_above_cost = 0: every plan of a session with jit on is compiled, so a session that does not
#   turn JIT off cannot hide it. jit_dump_bitcode = on: every compilation writes <pid>.<n>.bc into
#   the data directory, the trace this test looks for.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'lockguard'
lockguard.sample_interval_ms = 100
jit_above_cost = 0
jit_dump_bitcode = on
});
$node->start;

# A server built with LLVM (Debian's) must offer JIT, or the JIT checks below prove nothing; the
# assert-enabled build of the hardening run has no LLVM, so there the JIT checks are skipped and
# the rest (when the worker samples, what it reads) still runs.
my $built_with_llvm = $node->config_data('--configure') =~ /--with-llvm/;
is($node->safe_psql('postgres', 'SELECT pg_jit_available()'), 't',
	'JIT is available, as on a stock server (otherwise this test proves nothing)')
  if $built_with_llvm;
# The test's own sessions run without JIT (jit_above_cost = 0 is there for the worker; compiling
# every statement of the test would only make it slow), except the one that shows JIT at work.
$ENV{PGOPTIONS} = '-c jit=off';
$node->safe_psql('postgres', q{
CREATE EXTENSION lockguard;
CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 10) g;
});
my $worker_pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'lockguard worker'");
ok($worker_pid =~ /^\d+$/, 'the worker runs');

sub samples { return $node->safe_psql('postgres', 'SELECT samples FROM lockguard.worker_stats()'); }

# Nobody waits (a session asleep outside the lock manager does not count): no sample at all.
my $sleeper = $node->background_psql('postgres');
$sleeper->query_until(qr/start/, "\\echo start\nSELECT pg_sleep(1.5);\n");
sleep 2;
is(samples(), '0', 'no sample while nobody waits for a lock');

# A plain row-lock wait, no lockguard call: the worker samples it, and measures each sample.
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe('UPDATE accounts SET balance = 0 WHERE id = 1');
my $holder_pid = $holder->query_safe('SELECT pg_backend_pid()');
my $waiter = $node->background_psql('postgres');
$waiter->query_until(qr/start/, "\\echo start\nUPDATE accounts SET balance = 1 WHERE id = 1;\n");
ok($node->poll_query_until('postgres', 'SELECT samples >= 5 FROM lockguard.worker_stats()'),
	'the worker samples while a plain row-lock wait lasts');
is($node->safe_psql('postgres', qq{
SELECT count(*) > 0 FROM lockguard.wait_history WHERE blocker_pid = $holder_pid AND locktype = 'transactionid'}),
	't', 'the samples hold the edge of the wait');
is($node->safe_psql('postgres', q{
SELECT sample_cpu_ms > 0 AND avg_sample_cpu_ms > 0 AND max_sample_cpu_ms >= last_sample_cpu_ms
       AND sampled_edges >= samples AND last_sample_at IS NOT NULL AND cycles >= samples
       AND cycle_cpu_ms >= sample_cpu_ms
FROM lockguard.worker_stats()}), 't', 'every sample\'s CPU time is measured');

# The wait ends: sampling stops (a sample under way when it ended may still be counted).
$holder->query_safe('COMMIT');
$waiter->quit;
$holder->quit;
sleep 1;
my $after_wait = samples();
sleep 2;
is(samples(), $after_wait, 'sampling stops when the wait ends');

# lockguard._lock_waits() reads the lock manager only for the waiting processes; its edges must
# be pg_blocking_pids()'s exactly. Generated waits: for every table lock mode M, a holder in M,
# an ACCESS EXCLUSIVE waiter (a hard edge) and an ACCESS SHARE waiter queued behind it (a soft
# edge, and a hard one when M is ACCESS EXCLUSIVE); a plain row wait (transactionid) with a second
# waiter on the tuple lock; lockguard's named locks, exclusive and shared, and a lockguard row.
my @modes = ('ACCESS SHARE', 'ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE',
	'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE');
my (@sessions, $n);
sub session_that {
	my ($sql, $wait) = @_;
	my $s = $node->background_psql('postgres');
	push @sessions, $s;
	if ($wait) { $s->query_until(qr/start/, "\\echo start\n$sql\n"); }
	else { $s->query_safe($_) for split /;\s*/, $sql; }
	return $s;
}
for my $i (0 .. $#modes) {
	$node->safe_psql('postgres', "CREATE TABLE t$i (id int)");
	session_that("BEGIN; LOCK TABLE t$i IN $modes[$i] MODE", 0);
	session_that("BEGIN; LOCK TABLE t$i IN ACCESS EXCLUSIVE MODE;", 1);
	$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pg_locks WHERE NOT granted AND relation = 't$i'::regclass")
	  or die "no waiter on t$i";
	session_that("BEGIN; LOCK TABLE t$i IN ACCESS SHARE MODE;", 1);
}
session_that("BEGIN; UPDATE accounts SET balance = 2 WHERE id = 3", 0);
session_that("BEGIN; UPDATE accounts SET balance = 3 WHERE id = 3;", 1);
session_that("BEGIN; UPDATE accounts SET balance = 4 WHERE id = 3;", 1);
session_that("BEGIN; SELECT lockguard_acquire('gen:x'); SELECT lockguard_acquire('gen:s', mode => 'shared'); SELECT lockguard_acquire_row('accounts', 4)", 0);
session_that("BEGIN; SELECT lockguard_acquire('gen:x', timeout_ms => 600000);", 1);
session_that("BEGIN; SELECT lockguard_acquire('gen:s', mode => 'shared', timeout_ms => 600000)", 0);  # granted: shared
session_that("BEGIN; SELECT lockguard_acquire('gen:s', timeout_ms => 600000);", 1);
session_that("BEGIN; SELECT lockguard_acquire_row('accounts', 4, timeout_ms => 600000);", 1);
# A queue whose order is not its arrival order: P, holding ACCESS SHARE, asks for SHARE ROW
# EXCLUSIVE after W1 (ACCESS EXCLUSIVE) and W2 (ROW EXCLUSIVE) have queued, and PostgreSQL puts it
# ahead of W1, who waits for what P holds. _lock_waits() asks about the latest waiter first: P,
# whose answer names no one ahead of it, then W2, whose answer gives W1's edges as well.
$node->safe_psql('postgres', 'CREATE TABLE tr (id int)');
my %tr;
for my $who ('holder', 'p', 'w1', 'w2') {
	my $s = $node->background_psql('postgres');
	push @sessions, $s;
	$tr{$who} = { session => $s, pid => $s->query_safe('SELECT pg_backend_pid()') };
}
my $tr_queued = sub {
	my ($count) = @_;
	$node->poll_query_until('postgres', "SELECT count(*) = $count FROM pg_locks WHERE NOT granted AND relation = 'tr'::regclass")
	  or die "not $count waiters on tr";
};
$tr{holder}{session}->query_safe($_) for ('BEGIN', 'LOCK TABLE tr IN SHARE MODE');
$tr{p}{session}->query_safe($_) for ('BEGIN', 'LOCK TABLE tr IN ACCESS SHARE MODE');
$tr{w1}{session}->query_until(qr/start/, "\\echo start\nBEGIN; LOCK TABLE tr IN ACCESS EXCLUSIVE MODE;\n");
$tr_queued->(1);
$tr{w2}{session}->query_until(qr/start/, "\\echo start\nBEGIN; LOCK TABLE tr IN ROW EXCLUSIVE MODE;\n");
$tr_queued->(2);
$tr{p}{session}->query_until(qr/start/, "\\echo start\nLOCK TABLE tr IN SHARE ROW EXCLUSIVE MODE;\n");
$tr_queued->(3);
my $waiters = 2 * @modes + 2 + 3 + 3;
ok($node->poll_query_until('postgres', "SELECT count(*) = $waiters FROM pg_stat_activity WHERE wait_event_type = 'Lock'"),
	"$waiters sessions wait for locks");
my $ours = $node->safe_psql('postgres',
	"SELECT string_agg(waiter_pid || '>' || blocker_pid, ' ' ORDER BY waiter_pid, blocker_pid) FROM lockguard._lock_waits()");
my $theirs = $node->safe_psql('postgres', q{
SELECT string_agg(a.pid || '>' || b, ' ' ORDER BY a.pid, b)
FROM pg_stat_activity a, unnest(pg_blocking_pids(a.pid)) b WHERE a.wait_event_type = 'Lock'});
is($ours, $theirs, 'every edge of lockguard._lock_waits() is pg_blocking_pids()\'s, and no other');
cmp_ok(scalar(split / /, $ours), '>=', 2 * @modes + 1 + 2 + 3, 'hard and soft edges alike');
is( $node->safe_psql('postgres', q{
SELECT string_agg(x, ' ' ORDER BY x) FROM (SELECT pid || ':' || locktype || ':' || mode AS x FROM pg_locks WHERE NOT granted) s}),
	$node->safe_psql('postgres', q{
SELECT string_agg(x, ' ' ORDER BY x) FROM (SELECT DISTINCT waiter_pid || ':' || locktype || ':' || mode AS x FROM lockguard._lock_waits()) s}),
	'each waiter\'s lock type and mode are pg_locks\'');
my ($trh, $trp, $trw1, $trw2) = map { $tr{$_}{pid} } ('holder', 'p', 'w1', 'w2');
is($node->safe_psql('postgres', q{
SELECT string_agg(waiter_pid || '>' || blocker_pid, ' ' ORDER BY waiter_pid || '>' || blocker_pid)
FROM lockguard._lock_waits(true) WHERE relation = 'tr'::regclass}),
	join(' ', sort "$trp>$trh", "$trw1>$trh", "$trw1>$trp", "$trw2>$trh", "$trw2>$trw1"),
	'_lock_waits(true) on a queue put out of arrival order: W2\'s nearest conflicting process ahead is W1, not P');
# A sample (1.6: the view's query written out over _lock_waits(true)) stores exactly the view's
# rows of the pairs that _lock_waits(true) keeps, as 1.5's sample did by filtering the view; wait_ms
# aside, which the clock moves. Over every kind of wait above. The sample's transaction holds its
# rows of conflict_counts until the rollback, so the worker's own next sample may queue behind it
# between the two reads: edges to this session are left out of both.
my $sample_columns = 'waiter_pid, blocker_pid, locktype, target, mode, waiter_user, blocker_user, waiter_app, '
  . 'blocker_app, waiter_tenant, blocker_tenant, waiter_query, blocker_query, blocker_state, conflict_kind, conflict_target';
my ($sampled, $viewed, $only_sampled, $only_viewed) = split /\|/, $node->safe_psql('postgres', qq{
BEGIN;
CREATE TEMP TABLE stored AS SELECT lockguard.sample_wait_graph() AS n;
CREATE TEMP TABLE sampled AS SELECT $sample_columns FROM lockguard.wait_history
  WHERE sampled_at = now() AND blocker_pid <> pg_backend_pid();
CREATE TEMP TABLE viewed AS SELECT $sample_columns FROM lockguard.wait_graph g
  WHERE (g.waiter_pid, g.blocker_pid) IN (SELECT c.waiter_pid, c.blocker_pid FROM lockguard._lock_waits(true) c)
    AND g.blocker_pid <> pg_backend_pid();
SELECT (SELECT count(*) FROM sampled), (SELECT count(*) FROM viewed),
       (SELECT count(*) FROM (SELECT * FROM sampled EXCEPT ALL SELECT * FROM viewed) a),
       (SELECT count(*) FROM (SELECT * FROM viewed EXCEPT ALL SELECT * FROM sampled) b);
ROLLBACK;});
cmp_ok($sampled, '>=', $waiters, "a sample stores every waiter's chain ($sampled rows)");
is("$sampled $only_sampled $only_viewed", "$viewed 0 0", 'and exactly the view\'s rows of those pairs');
is($node->safe_psql('postgres', 'SELECT count(*) FROM lockguard.wait_graph'),
	scalar(split / /, $theirs), 'lockguard.wait_graph has one row per edge');
$node->safe_psql('postgres', q{
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND (wait_event_type = 'Lock' OR state = 'idle in transaction')});
eval { $_->quit; } for @sessions;
@sessions = ();

# What the samples store (extension 1.5): lockguard._lock_waits(true) keeps each waiter's edges to
# holders of a conflicting mode and, of the processes queued ahead of it for a conflicting mode,
# only the nearest. Generated: a holder in SHARE and, queued behind an ACCESS EXCLUSIVE waiter
# (which every later request conflicts with), one waiter in every table lock mode, so that a
# waiter's nearest conflicting process ahead is sometimes its neighbour and sometimes further
# up (ACCESS SHARE behind ROW SHARE: the ACCESS EXCLUSIVE waiter). The expected edges come from
# PostgreSQL's documented conflict table, not from lockguard's code.
my %conflicts = (
	'ACCESS SHARE'           => ['ACCESS EXCLUSIVE'],
	'ROW SHARE'              => ['EXCLUSIVE', 'ACCESS EXCLUSIVE'],
	'ROW EXCLUSIVE'          => ['SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'],
	'SHARE UPDATE EXCLUSIVE' => ['SHARE UPDATE EXCLUSIVE', 'SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'],
	'SHARE'                  => ['ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'],
	'SHARE ROW EXCLUSIVE'    => ['ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'],
	'EXCLUSIVE'              => [grep { $_ ne 'ACCESS SHARE' } @modes],
	'ACCESS EXCLUSIVE'       => [@modes]);
sub conflict { my ($a, $b) = @_; return scalar grep { $_ eq $b } @{ $conflicts{$a} }; }
$node->safe_psql('postgres', 'CREATE TABLE tq (id int)');
my $queue_holder = session_that('BEGIN; LOCK TABLE tq IN SHARE MODE', 0);
my $holder_pid = $queue_holder->query_safe('SELECT pg_backend_pid()');
my @queue = ('ACCESS EXCLUSIVE', @modes);
my @queue_pids;
for my $i (0 .. $#queue) {
	my $s = $node->background_psql('postgres');
	push @sessions, $s;
	push @queue_pids, $s->query_safe('SELECT pg_backend_pid()');
	$s->query_until(qr/start/, "\\echo start\nBEGIN; LOCK TABLE tq IN $queue[$i] MODE;\n");
	$node->poll_query_until('postgres', "SELECT count(*) = @{[$i + 1]} FROM pg_locks WHERE NOT granted AND relation = 'tq'::regclass")
	  or die "waiter $i is not queued on tq";
}
my (@expected, @expected_all);
for my $i (0 .. $#queue) {
	my @hard = conflict($queue[$i], 'SHARE') ? ("$queue_pids[$i]>$holder_pid") : ();
	my @ahead = grep { conflict($queue[$i], $queue[$_]) } reverse 0 .. $i - 1;    # nearest first
	push @expected, @hard, (@ahead ? ("$queue_pids[$i]>$queue_pids[$ahead[0]]") : ());
	push @expected_all, @hard, map { "$queue_pids[$i]>$queue_pids[$_]" } @ahead;
}
my $edges_of = sub {
	my ($sql) = @_;
	return join ' ', sort split / /, $node->safe_psql('postgres', "SELECT string_agg(waiter_pid || '>' || blocker_pid, ' ') FROM $sql");
};
is($edges_of->("lockguard._lock_waits(true) WHERE relation = 'tq'::regclass"), join(' ', sort @expected),
	'_lock_waits(true): the edges to holders and to the nearest conflicting process queued ahead, over a queue in every mode');
is($edges_of->("lockguard._lock_waits() WHERE relation = 'tq'::regclass"), join(' ', sort @expected_all),
	'_lock_waits(): every edge of the same queue (' . scalar(@expected_all) . ', the samples store ' . scalar(@expected) . ')');
$node->safe_psql('postgres', q{
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND (wait_event_type = 'Lock' OR state = 'idle in transaction')});
eval { $_->quit; } for @sessions;

# Audit entries are persisted exactly once, and a cycle with nothing new to persist does not
# touch lockguard.audit_log: flush_audit() looks every entry it is given up in audit_log, and a
# worker that handed it the whole ring at every sample did 40 look-ups per sample here (4096 with a
# full ring, more CPU than the sample itself). Counted as scans of audit_log, whatever the plan.
sub audited_timeouts {
	my ($count) = @_;
	my $holder = $node->background_psql('postgres');
	$holder->query_safe("BEGIN; SELECT lockguard_acquire('costaudit:held')");
	$node->safe_psql('postgres', qq{
DO \$\$ BEGIN
  FOR i IN 1..$count LOOP
    BEGIN PERFORM lockguard_acquire('costaudit:held', timeout_ms => 0);
    EXCEPTION WHEN lock_not_available THEN NULL; END;
  END LOOP;
END \$\$});
	$holder->query_safe('COMMIT');
	$holder->quit;
}
sub audit_log_stat {
	my ($column) = @_;
	return $node->safe_psql('postgres',
		"SELECT $column FROM pg_stat_all_tables WHERE relid = 'lockguard.audit_log'::regclass");
}
my $scans = 'coalesce(seq_scan, 0) + coalesce(idx_scan, 0)';
# The worker reports its statistics at most once a second, after a cycle: a sampled wait keeps
# it cycling (and reporting) from here to the end. Nothing below reads audit_log itself until
# the scans are counted: progress is read from its insert count.
$holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe('UPDATE accounts SET balance = 0 WHERE id = 2');
$waiter = $node->background_psql('postgres');
$waiter->query_until(qr/start/, "\\echo start\nUPDATE accounts SET balance = 1 WHERE id = 2;\n");
my $inserted = audit_log_stat('n_tup_ins');
audited_timeouts(40);
ok($node->poll_query_until('postgres', "SELECT n_tup_ins = $inserted + 40 FROM pg_stat_all_tables
WHERE relid = 'lockguard.audit_log'::regclass"), 'the worker persists 40 audited timeouts');
# 15 more samples (more than a second): a flush that copied an entry twice is reported too.
my $samples_from = samples();
ok($node->poll_query_until('postgres', 'SELECT samples >= ' . ($samples_from + 15) . ' FROM lockguard.worker_stats()'),
	'the worker goes on sampling');
my $scans_before = audit_log_stat($scans);
$samples_from = samples();
ok($node->poll_query_until('postgres', 'SELECT samples >= ' . ($samples_from + 30) . ' FROM lockguard.worker_stats()'),
	'30 sampled cycles with nothing new to persist');
audited_timeouts(3);
ok($node->poll_query_until('postgres', "SELECT n_tup_ins = $inserted + 43 FROM pg_stat_all_tables
WHERE relid = 'lockguard.audit_log'::regclass"), 'the 3 new ones are persisted, and reported');
# At most: each of the 3 new entries looked up by the flush and by its insert's ON CONFLICT check,
# and by the flush once more when it was written during the flush that first copied it; and one
# retention pass (every 60th cycle) deleting from audit_log. Handing flush_audit() the whole ring
# at every sample made it 40 look-ups a cycle here, over a thousand in these cycles.
cmp_ok(audit_log_stat($scans) - $scans_before, '<=', 3 * 3 + 1,
	'30 sampled cycles with nothing new did not scan lockguard.audit_log');
$holder->query_safe('COMMIT');
$waiter->quit;
$holder->quit;
is($node->safe_psql('postgres', q{
SELECT count(*) || ' ' || count(DISTINCT seq) || ' ' || (max(seq) - min(seq) + 1)
FROM lockguard.audit_log WHERE resource = 'costaudit:held'}), '43 43 43', 'each entry persisted once, no gap');

# Retention must not put back what it deleted. The entries it deletes are still in the ring,
# and flush_audit() takes only what is above the highest seq left in audit_log: once retention
# had deleted every row, an earlier worker's next flush copied the whole ring back.
my $last_seq = $node->safe_psql('postgres', 'SELECT max(seq) FROM lockguard.audit_log');
shorten_retention($node);
$node->safe_psql('postgres', "UPDATE lockguard.audit_log SET logged_at = logged_at - interval '1 hour'");
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM lockguard.audit_log'),
	'retention deletes the backdated audit rows');
ok(wait_for_retention_pass($node), 'another retention pass, with its flush, runs after the delete');
$inserted = audit_log_stat('n_tup_ins');
audited_timeouts(1);
ok($node->poll_query_until('postgres', "SELECT n_tup_ins > $inserted FROM pg_stat_all_tables
WHERE relid = 'lockguard.audit_log'::regclass"), 'a new audit entry is persisted after the delete');
is($node->safe_psql('postgres', q{SELECT count(*) || ' ' || min(seq) FROM lockguard.audit_log}),
	'1 ' . ($last_seq + 1), 'only the new entry is in audit_log: retention\'s deleted rows were not copied back');
restore_retention($node);

# JIT: a client session's query leaves its bitcode (the check can see it); the worker's many
# samples and flushes left none.
delete $ENV{PGOPTIONS};
SKIP: {
	skip 'this server was built without LLVM: no JIT to avoid', 2 unless $built_with_llvm;
	$node->safe_psql('postgres', 'SELECT sum(balance) FROM accounts');
	my $datadir = $node->data_dir;
	opendir(my $dh, $datadir) or die "cannot read $datadir: $!";
	my @bitcode = grep { /^\d+\.\d+\.bc$/ } readdir($dh);
	closedir($dh);
	ok(scalar(grep { !/^$worker_pid\./ } @bitcode) > 0, 'client sessions are JIT-compiled here (their bitcode is dumped)');
	is(scalar(grep { /^$worker_pid\./ } @bitcode), 0, 'the worker compiled nothing: it runs without JIT');
}

$sleeper->quit;
$node->stop;
done_testing();
