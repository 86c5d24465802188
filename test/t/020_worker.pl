# The lockguard background worker: it starts, samples a staged blocking chain into history,
# survives a SIGHUP and a kill (the postmaster restarts it), stays idle on a standby and writes
# history after the standby is promoted, and does not start in binary-upgrade mode (pg_upgrade).
# Deadlocks are captured as they happen, with every query involved, and agree with
# pg_stat_database.deadlocks; retention does not copy back the ones it deleted.
use strict;
use warnings;

BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use LgRetention;

my $primary = PostgreSQL::Test::Cluster->new('worker_primary');
$primary->init(allows_streaming => 1);
# sample_interval_ms = 100: samples within a fraction of a second, so the polls below end soon.
# deadlock_timeout = 100ms: the staged deadlocks are found quickly (the default is 1 s).
# log_lock_waits = on: the deadlock source 'log' and the cross-check with pg_stat_database need it.
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'lockguard'
lockguard.sample_interval_ms = 100
deadlock_timeout = 100ms
log_lock_waits = on
});
$primary->start;

sub worker_pid {
	my ($node) = @_;
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'lockguard worker'");
}

# The worker runs before the extension exists, and does nothing there.
ok($primary->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'lockguard worker'"),
	'the worker starts with the server');
$primary->safe_psql('postgres', q{
CREATE EXTENSION lockguard;
CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 10) g;
});

# A staged chain: root holds row 1 (through lockguard); a plain UPDATE and a lockguard waiter
# wait for it.
my $root = $primary->background_psql('postgres');
$root->query_safe("BEGIN");
$root->query_safe("SELECT lockguard_acquire_row('accounts', 1)");
my $root_pid = $root->query_safe('SELECT pg_backend_pid()');
my $plain = $primary->background_psql('postgres');
$plain->query_until(qr/start/, "\\echo start\nBEGIN; UPDATE accounts SET balance = 0 WHERE id = 1;\n");
my $queued = $primary->background_psql('postgres');
$queued->query_until(qr/start/, "\\echo start\nBEGIN; SELECT lockguard_acquire_row('accounts', 1, timeout_ms => 60000);\n");

ok($primary->poll_query_until('postgres',
		"SELECT count(DISTINCT waiter_pid) = 2 FROM lockguard.wait_history WHERE blocker_pid = $root_pid"),
	'the worker samples both edges of the staged chain into history');
is( $primary->safe_psql('postgres',
		"SELECT string_agg(DISTINCT locktype, ',' ORDER BY locktype) FROM lockguard.wait_history WHERE blocker_pid = $root_pid"),
	'advisory,transactionid',
	'row-level waits are sampled: the plain UPDATE waits on the transaction, the lockguard waiter on its gate');
is( $primary->safe_psql('postgres',
		"SELECT DISTINCT target FROM lockguard.wait_history WHERE locktype = 'advisory'"),
	'public.accounts(1)', 'the lockguard waiter is shown with its resource name, its table schema-qualified');
is( $primary->safe_psql('postgres',
		"SELECT tree FROM lockguard.blocking_tree WHERE depth = 0"),
	$root_pid, 'the blocking tree has the holder as its only root');
is($primary->safe_psql('postgres', "SELECT sampled_waits > 0 FROM lockguard.conflict_counts WHERE kind = 'relation' AND target = 'public.accounts'"),
	't', 'conflicts are counted per relation, row and table waits alike');
like($primary->safe_psql('postgres', 'SELECT lockguard.wait_graph_dot()'),
	qr/^digraph "lockguard" \{.*"\d+" -> "$root_pid"/s, 'the DOT output has the edges to the root');

# Which waiter gets the row next is a race; end both rather than guess.
my $plain_pid = $primary->safe_psql('postgres',
	"SELECT string_agg(waiter_pid::text, ',') FROM (SELECT DISTINCT waiter_pid FROM lockguard.wait_history WHERE blocker_pid = $root_pid) w");
$root->query_safe('COMMIT');
$primary->safe_psql('postgres', "SELECT pg_terminate_backend(pid) FROM unnest('{$plain_pid}'::int[]) pid");
eval { $plain->quit; };
eval { $queued->quit; };
$root->quit;

# SIGHUP: same worker, new setting in force.
my $pid_before = worker_pid($primary);
$primary->safe_psql('postgres', "ALTER SYSTEM SET lockguard.sample_interval_ms = 150; SELECT pg_reload_conf();");
ok($primary->poll_query_until('postgres',
		"SELECT sample_interval_ms = '150ms' FROM lockguard.worker_status"),
	'the worker reloads its settings on SIGHUP');
is(worker_pid($primary), $pid_before, 'the worker survived the SIGHUP');

# Killed: the postmaster starts it again.
$primary->safe_psql('postgres', "SELECT pg_terminate_backend($pid_before)");
ok($primary->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'lockguard worker' AND pid <> $pid_before"),
	'a killed worker is restarted by the postmaster');

# Deadlocks as they happen: one between two plain transactions (the server log has the queries),
# one caught by an exception block through lockguard (never reaches the log as an error).
my $deadlocks_before = $primary->safe_psql('postgres',
	"SELECT deadlocks FROM pg_stat_database WHERE datname = 'postgres'");
my $s1 = $primary->background_psql('postgres', on_error_stop => 0);
my $s2 = $primary->background_psql('postgres', on_error_stop => 0);
$s1->query_safe("SET deadlock_timeout = '10s'");
$s1->query_safe("BEGIN; UPDATE accounts SET balance = balance + 1 WHERE id = 2");
$s2->query_safe("BEGIN; UPDATE accounts SET balance = balance + 1 WHERE id = 3");
$s1->query_until(qr/start/, "\\echo start\nUPDATE accounts SET balance = balance + 1 WHERE id = 3;\n");
$s2->query("UPDATE accounts SET balance = balance + 1 WHERE id = 2");
$s2->query("ROLLBACK");
$s1->query("COMMIT");

$s1->query(q{BEGIN; SELECT lockguard_acquire('dl:a')});
$s2->query(q{SET deadlock_timeout = '10s'; BEGIN; SELECT lockguard_acquire('dl:b')});  # stderr still holds the first deadlock
$s2->query_until(qr/start/, "\\echo start\nSELECT lockguard_acquire('dl:a', timeout_ms => 30000);\n");
$s1->query(q{DO $$ BEGIN PERFORM lockguard_acquire('dl:b', timeout_ms => 30000);
             EXCEPTION WHEN deadlock_detected THEN RAISE NOTICE 'caught'; END $$});
$s1->query("ROLLBACK");
$s2->query("ROLLBACK");
$s1->quit;
$s2->quit;

ok($primary->poll_query_until('postgres', "SELECT count(*) = 2 FROM lockguard.deadlock_log WHERE source <> 'log'"),
	'the worker persists both deadlocks');
is( $primary->safe_psql('postgres', q{
SELECT string_agg(source || ':' || cardinality(cycle_pids) || ':' ||
       (SELECT count(*) FROM unnest(queries) q WHERE q LIKE '%accounts%' OR q LIKE '%lockguard_acquire%'),
       ',' ORDER BY detected_at)
FROM lockguard.deadlocks}),
	'error:2:2,lockguard:2:2',
	'each deadlock has its two-process cycle and both queries');
my $deadlocks_after = $primary->safe_psql('postgres',
	"SELECT deadlocks FROM pg_stat_database WHERE datname = 'postgres'");
is($deadlocks_after - $deadlocks_before, 2, 'pg_stat_database.deadlocks counted the same two');

# Retention must not put back what it deleted. The deadlocks it deletes are still in the ring,
# and flush_deadlocks() takes only what is above the highest seq left in deadlock_log: once
# retention had deleted every row, an earlier worker's next flush copied the whole ring back.
shorten_retention($primary);
$primary->safe_psql('postgres', "UPDATE lockguard.deadlock_log SET detected_at = detected_at - interval '1 hour'");
ok($primary->poll_query_until('postgres', 'SELECT count(*) = 0 FROM lockguard.deadlock_log'),
	'retention deletes the backdated deadlocks');
ok(wait_for_retention_pass($primary), 'another retention pass, with its flush, runs after the delete');
is($primary->safe_psql('postgres', 'SELECT count(*) FROM lockguard.deadlock_log'),
	'0', 'the deleted deadlocks were not copied back from the ring');
restore_retention($primary);

# A standby: the worker runs there but stays idle; after promotion it writes history.
$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('worker_standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);
ok($standby->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'lockguard worker'"),
	'the worker runs on the standby');
is($standby->safe_psql('postgres', 'SELECT server_is_standby FROM lockguard.worker_status'),
	't', 'it knows it is on a standby');
my $history_rows = $standby->safe_psql('postgres', 'SELECT count(*) FROM lockguard.wait_history');

$primary->stop;
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
my $holder = $standby->background_psql('postgres');
$holder->query_safe("BEGIN");
$holder->query_safe("SELECT lockguard_acquire('after:promotion')");
my $waiter = $standby->background_psql('postgres');
$waiter->query_until(qr/start/, "\\echo start\nBEGIN; SELECT lockguard_acquire('after:promotion', timeout_ms => 60000);\n");
ok($standby->poll_query_until('postgres',
		"SELECT count(*) > $history_rows FROM lockguard.wait_history WHERE target = 'after:promotion'"),
	'after promotion the worker writes history');
$holder->query_safe('COMMIT');
$waiter->query_safe('COMMIT');
$holder->quit;
$waiter->quit;
$standby->stop;

# Binary-upgrade mode (pg_upgrade starts both servers with -b): no worker. It would hold a
# connection to a database that pg_upgrade drops and re-creates. The worker starts as soon as the
# server can accept connections; 3 s is ample for it to show up if it were registered (a normal
# start of the same server, below, shows it).
command_ok(['pg_ctl', '-D', $standby->data_dir, '-l', $standby->logfile, '-o', '-b', '-w', 'start'],
	'the server starts in binary-upgrade mode');
sleep 3;
is($standby->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'lockguard worker'"),
	'0', 'no worker in binary-upgrade mode');
command_ok(['pg_ctl', '-D', $standby->data_dir, '-m', 'fast', '-w', 'stop'], 'and stops');
$standby->start;
ok($standby->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'lockguard worker'"),
	'the worker runs again after a normal start');
$standby->stop;

done_testing();
