# lockguard next to pg_stat_statements, pgaudit and pg_wait_sampling (docs/deployment.md), with
# shared_preload_libraries in three orders: lockguard's hooks first, last and in the middle of
# the chain. In each, every extension's effect really happens: pg_stat_statements counts
# lockguard's statements, pgaudit writes its audit lines, pg_wait_sampling profiles a lockguard
# wait as a heavyweight-lock wait, lockguard's guardrails refuse with LG004 from both of their
# hooks and its statement-depth hooks still tell a client statement from a DO block. Then
# lockguard's own pg_regress suite passes on each node, and its isolation suite on the first.
use strict;
use warnings;

BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use File::Basename qw(basename);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LgPrereq;

require_libraries(pgaudit => 'postgresql-' . pg_major() . '-pgaudit',
	pg_wait_sampling => 'postgresql-' . pg_major() . '-pg-wait-sampling');
my $source = source_dir();

my @orders = (
	[ 'lockguard_last', 'pg_stat_statements, pgaudit, pg_wait_sampling, lockguard' ],
	[ 'lockguard_first', 'lockguard, pg_wait_sampling, pgaudit, pg_stat_statements' ],
	[ 'lockguard_middle', 'pgaudit, pg_stat_statements, lockguard, pg_wait_sampling' ],
);

# Runs pg_regress (or pg_isolation_regress) against $node; its output goes to a file.
sub run_suite
{
	my ($node, $program, $inputdir, $dbname, @tests) = @_;
	my $outdir = $node->basedir . '/' . basename($program);
	my @command = (
		$program, '--bindir=' . $node->config_data('--bindir'),
		'--host=' . $node->host, '--port=' . $node->port,
		"--inputdir=$inputdir", "--outputdir=$outdir",
		"--dbname=$dbname", '--load-extension=lockguard', @tests);
	my $ok = IPC::Run::run(\@command, '>', "$outdir.log", '2>&1');
	my $log = slurp_file("$outdir.log");
	my ($passed) = $log =~ /All (\d+) tests passed/;
	diag($log . (-f "$outdir/regression.diffs" ? slurp_file("$outdir/regression.diffs") : '')) unless $ok;
	return $ok ? $passed : 0;
}

for my $order (@orders)
{
	my ($name, $libraries) = @$order;
	my $node = PostgreSQL::Test::Cluster->new("coexist_$name");
	$node->init;
	# max_connections = 40: enough for the test, little shared memory per cluster (several run).
	# max_prepared_transactions = 10: lockguard's own regression suite runs on each node (its tests
	# use prepared transactions as blockers and check that PREPARE is refused while lockguard locks are held).
	# sample_interval_ms = 200: the worker samples while the checks wait. pgaudit.log: pgaudit active.
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = '$libraries'
max_connections = 40
max_prepared_transactions = 10
lockguard.sample_interval_ms = 200
pgaudit.log = 'ddl'
});
	$node->start;
	is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'), $libraries, "$name: the server runs with $libraries");

	$node->safe_psql('postgres', q{
CREATE EXTENSION pg_stat_statements;
CREATE EXTENSION pgaudit;
CREATE EXTENSION pg_wait_sampling;
CREATE EXTENSION lockguard;
CREATE TABLE payments (id int PRIMARY KEY, amount int NOT NULL);
CREATE TABLE events (id int PRIMARY KEY);
INSERT INTO payments VALUES (1, 10);
INSERT INTO events VALUES (1);
INSERT INTO lockguard.lock_policies (relation, reason) VALUES ('payments', 'payments stay writable');
INSERT INTO lockguard.lock_policies (relation, forbidden_modes, reason, forbid_exclusive_row_marks)
VALUES ('events', '{ACCESS EXCLUSIVE}', 'events stream in all day', true);
});

	# pg_stat_statements counts lockguard's statements (they run through lockguard's executor hooks).
	$node->safe_psql('postgres', 'SELECT pg_stat_statements_reset()');
	$node->safe_psql('postgres', "BEGIN; SELECT lockguard_acquire('coexist:$_'); COMMIT") for 1 .. 3;
	is( $node->safe_psql('postgres',
			q{SELECT sum(calls) FROM pg_stat_statements WHERE query = 'SELECT lockguard_acquire($1)'}),
		3, "$name: pg_stat_statements counted the three lockguard_acquire calls");

	# Guardrails refuse from ProcessUtility (LOCK TABLE) and ExecutorStart (row marks).
	my (undef, undef, $lock_err) = $node->psql('postgres', 'LOCK TABLE payments IN ACCESS EXCLUSIVE MODE',
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($lock_err, qr/ERROR:  LG004: /, "$name: lockguard refuses LOCK TABLE on a protected table (LG004)");
	my (undef, undef, $mark_err) = $node->psql('postgres', 'SELECT * FROM events FOR UPDATE',
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($mark_err, qr/ERROR:  LG004: /, "$name: lockguard refuses FOR UPDATE on every row of a protected table (LG004)");
	is($node->safe_psql('postgres', 'SELECT id FROM events WHERE id = 1 FOR UPDATE'),
		1, "$name: a row lock on one row of it is allowed");

	# Statement-depth hooks: a run-once claim is refused as an autocommit statement (25P01) and
	# allowed from a DO block.
	my (undef, undef, $claim_err) = $node->psql('postgres', q{SELECT * FROM lockguard.claim_operation('coexist:op')},
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($claim_err, qr/ERROR:  25P01: /, "$name: a top-level autocommit claim is refused (25P01)");
	$node->safe_psql('postgres', q{DO $$ BEGIN PERFORM lockguard.claim_operation('coexist:op'); END $$});
	is($node->safe_psql('postgres', 'SELECT count(*) FROM lockguard.operations'), 1, "$name: a claim from a DO block is allowed");

	# pgaudit logs DDL (its ProcessUtility hook) and, when asked, writes (its executor hooks).
	my $log_offset = -s $node->logfile;
	$node->safe_psql('postgres', q{CREATE TABLE audited_here (id int);
SET pgaudit.log = 'write'; INSERT INTO payments VALUES (2, 20)});
	ok( $node->wait_for_log(qr/AUDIT: SESSION,\d+,\d+,DDL,CREATE TABLE,.*audited_here/, $log_offset),
		"$name: pgaudit logged the CREATE TABLE");
	ok( $node->wait_for_log(qr/AUDIT: SESSION,\d+,\d+,WRITE,INSERT,.*INSERT INTO payments/, $log_offset),
		"$name: pgaudit logged the INSERT");

	# A lockguard wait: lockguard shows it, pg_wait_sampling profiles it as a lock wait.
	my $holder = $node->background_psql('postgres');
	$holder->query_safe(q{BEGIN; SELECT lockguard_acquire('coexist:hot')});
	my $holder_pid = $holder->query_safe('SELECT pg_backend_pid()');
	my $waiter = $node->background_psql('postgres');
	my $waiter_pid = $waiter->query_safe('SELECT pg_backend_pid()');
	$waiter->query_until(qr/start/, "\\echo start\nBEGIN; SELECT lockguard_acquire('coexist:hot', timeout_ms => 60000);\n");
	ok( $node->poll_query_until('postgres', qq{
SELECT blocked_by = '{$holder_pid}' FROM lockguard.locks WHERE pid = $waiter_pid AND NOT granted}),
		"$name: lockguard.locks shows the waiter and its blocker");
	ok( $node->poll_query_until('postgres', qq{
SELECT count(*) > 0 FROM pg_wait_sampling_profile WHERE pid = $waiter_pid AND event_type = 'Lock' AND event = 'advisory'}),
		"$name: pg_wait_sampling profiled the lockguard wait as a heavyweight-lock wait");
	$holder->query_safe('COMMIT');
	$waiter->query_safe('COMMIT');
	$holder->quit;
	$waiter->quit;
	is( $node->safe_psql('postgres',
			q{SELECT waited FROM lockguard.wait_stats WHERE tenant = 'default' AND resource_class = 'coexist'}),
		1, "$name: lockguard counted the wait");

	# lockguard's own suites against this node.
	my $regress = run_suite($node, $ENV{PG_REGRESS}, "$source/test", 'contrib_regression', makefile_list('REGRESS'));
	ok($regress > 0, "$name: lockguard's pg_regress suite passes ($regress tests)");
	if ($name eq 'lockguard_last')
	{
		(my $isolation = $ENV{PG_REGRESS}) =~ s{regress/pg_regress$}{isolation/pg_isolation_regress};
		my $passed = run_suite($node, $isolation, "$source/test/isolation", 'isolation_regression', makefile_list('ISOLATION'));
		ok($passed > 0, "$name: lockguard's isolation suite passes ($passed specs)");
	}
	$node->stop;
}

done_testing();
