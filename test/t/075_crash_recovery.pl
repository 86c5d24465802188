# Crash recovery: a backend killed with SIGKILL while it holds lockguard locks (a named lock, a
# row lock and its tenant's budget slots, with others waiting for them), and again while it
# waits, makes the server restart after the crash. After each restart lockguard's shared memory
# starts clean: no lock, published wait or budget slot is left taken, new acquisitions, waits,
# timeouts and grants work, the background worker is back and samples again, and every view
# answers.
use strict;
use warnings;

BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('crash_recovery');  # 'crash_': its SIGKILLs are expected (test/run-all.sh)
$node->init;
# restart_after_crash = on (the default, stated): the test kills backends and needs the restart.
# sample_interval_ms = 100: the worker is busy sampling when the crashes happen.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'lockguard'
restart_after_crash = on
lockguard.sample_interval_ms = 100
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION lockguard;
CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 10) g;
CREATE ROLE acme_app LOGIN;
GRANT SELECT, UPDATE ON accounts TO acme_app;
INSERT INTO lockguard.tenant_budgets (tenant, max_held, max_waiters) VALUES ('acme', 10, 10);
INSERT INTO lockguard.tenant_roles VALUES ('acme_app', 'acme');
});

my $acme = [ extra_params => [ '-U', 'acme_app' ] ];

sub query { return $node->safe_psql('postgres', $_[0]); }

sub worker_pid {
	ok($node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM lockguard.worker_status'),
		"$_[0]: the worker runs");
	return query('SELECT pid FROM lockguard.worker_status');
}

sub kills_so_far {
	my $log = slurp_file($node->logfile);
	my @kills = $log =~ /terminated by signal 9: Killed/g;
	return scalar @kills;
}

# A session that waits for `resource` (named or a row of accounts) until it is granted.
sub start_waiter {
	my ($sql) = @_;
	my $session = $node->background_psql('postgres', @$acme, on_error_stop => 0);
	my $pid = $session->query_safe('SELECT pg_backend_pid()');
	$session->query_until(qr/start/, "\\echo start\nBEGIN; $sql;\n");
	ok($node->poll_query_until('postgres',
			"SELECT count(*) = 1 FROM lockguard.locks WHERE pid = $pid AND NOT granted"),
		"waiter $pid waits in lockguard.locks");
	return ($session, $pid);
}

# Kills `pid` with SIGKILL and waits until the server is back after its crash restart.
sub crash {
	my ($pid, @sessions) = @_;
	my $kills = kills_so_far();
	kill 'KILL', $pid;
	ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'the server is back after the crash');
	is(kills_so_far(), $kills + 1, 'the crash really happened');
	eval { $_->quit; } for @sessions;
}

# Everything lockguard keeps in shared memory starts clean after the crash restart, and works.
sub healthy {
	my ($label, $worker_before, $since) = @_;
	is(query('SELECT count(*) FROM lockguard.locks'), '0', "$label: lockguard.locks is empty");
	is(query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid IN (19527, 19528, 19529)"),
		'0', "$label: no lock in lockguard's key spaces in pg_locks");
	is(query("SELECT count(*) FROM lockguard._shared_state() WHERE part = 'backend'"),
		'0', "$label: no backend slot publishes a held lock or a wait");
	is(query("SELECT waiting FROM lockguard._shared_state() WHERE part = 'waiting_backends'"),
		'0', "$label: the count of published waits is zero");
	is(query("SELECT held_now || '/' || waiting_now || '/' || max_held FROM lockguard.tenants WHERE tenant = 'acme'"),
		'0/0/10', "$label: no budget slot is taken, and the budget is loaded again from the table");

	my $worker = worker_pid($label);
	isnt($worker, $worker_before, "$label: the worker is a new process, restarted with the server");

	# A holder of a named lock and a row; a waiter that times out on each; a waiter granted.
	my $holder = $node->background_psql('postgres', @$acme);
	$holder->query_safe("BEGIN; SELECT lockguard_acquire('crash:a'); SELECT lockguard_acquire_row('accounts', 1)");
	my $holder_pid = $holder->query_safe('SELECT pg_backend_pid()');
	is(query("SELECT held_now FROM lockguard.tenants WHERE tenant = 'acme'"), '2',
		"$label: new acquisitions take budget slots");
	my ($rc, $out, $err) = $node->psql('postgres',
		"BEGIN; SELECT lockguard_acquire('crash:a', timeout_ms => 100);", @$acme);
	like($err, qr/could not obtain lockguard named lock on "crash:a" within 100 ms/,
		"$label: a named wait times out with 55P03");
	($rc, $out, $err) = $node->psql('postgres',
		"BEGIN; SELECT lockguard_acquire_row('accounts', 1, timeout_ms => 100);", @$acme);
	like($err, qr/could not obtain lockguard row lock on .* within 100 ms/, "$label: a row wait times out with 55P03");
	is(query("SELECT sum(timeouts) FROM lockguard.wait_stats WHERE tenant = 'acme'"),
		'2', "$label: lockguard.wait_stats counts the two timeouts (and only those since the crash)");

	my ($waiter, $waiter_pid) = start_waiter("SELECT lockguard_acquire('crash:a', timeout_ms => 60000)");
	is(query("SELECT count(*) FROM lockguard.blocking_tree WHERE pid = $waiter_pid"), '1',
		"$label: lockguard.blocking_tree shows the waiter");
	ok($node->poll_query_until('postgres',
			"SELECT count(*) > 0 FROM lockguard.wait_history WHERE waiter_pid = $waiter_pid AND sampled_at > '$since'"),
		"$label: the worker samples the wait into history again");
	$holder->query_safe('COMMIT');
	ok($node->poll_query_until('postgres',
			"SELECT count(*) = 1 FROM lockguard.locks WHERE pid = $waiter_pid AND granted"),
		"$label: the waiter is granted when the holder commits");
	$waiter->query_safe('COMMIT');
	$waiter->quit;
	$holder->quit;

	is(query("SELECT held_now || '/' || waiting_now FROM lockguard.tenants WHERE tenant = 'acme'"), '0/0',
		"$label: every slot is back after the sessions end");
	like(query(q{
SELECT (SELECT count(*) FROM lockguard.wait_graph) >= 0
   AND (SELECT count(*) FROM lockguard.deadlocks) >= 0
   AND (SELECT count(*) FROM lockguard.audit) > 0
   AND (SELECT value FROM lockguard.metrics WHERE metric = 'lockguard_worker_up') = 1
   AND (SELECT inconsistent_queues FROM lockguard.queue_stats()) = 0}),
		qr/^t$/, "$label: every view answers (audit has the new timeouts, metrics see the worker)");
	return $worker;
}

my $worker = worker_pid('at start');

# 1. Killed while holding: a named lock and a row lock, two budget slots, with a waiter on each.
my $holder = $node->background_psql('postgres', @$acme);
$holder->query_safe("BEGIN; SELECT lockguard_acquire('crash:a'); SELECT lockguard_acquire_row('accounts', 1)");
my $holder_pid = $holder->query_safe('SELECT pg_backend_pid()');
my ($named_waiter) = start_waiter("SELECT lockguard_acquire('crash:a', timeout_ms => 60000)");
my ($row_waiter) = start_waiter("SELECT lockguard_acquire_row('accounts', 1, timeout_ms => 60000)");
is(query("SELECT held_now || '/' || waiting_now FROM lockguard.tenants WHERE tenant = 'acme'"), '2/2',
	'before the crash: two locks held and two waiters counted');
is(query("SELECT count(*) FROM lockguard._shared_state() WHERE part = 'backend'"), '3',
	'before the crash: three backend slots in use');
my $since = query('SELECT now()');
crash($holder_pid, $holder, $named_waiter, $row_waiter);
$worker = healthy('killed while holding', $worker, $since);

# 2. Killed while waiting, with its holder alive until the crash ends it too.
$holder = $node->background_psql('postgres', @$acme);
$holder->query_safe("BEGIN; SELECT lockguard_acquire_row('accounts', 2); SELECT lockguard_acquire('crash:b')");
my ($waiter, $waiter_pid) = start_waiter("SELECT lockguard_acquire('crash:b', timeout_ms => 60000)");
is(query("SELECT held_now || '/' || waiting_now FROM lockguard.tenants WHERE tenant = 'acme'"), '2/1',
	'before the second crash: two locks held and one waiter counted');
$since = query('SELECT now()');
crash($waiter_pid, $holder, $waiter);
healthy('killed while waiting', $worker, $since);

$node->stop;
done_testing();
