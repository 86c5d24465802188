# lockguard across a server restart: the extension keeps working (acquire, wait with a
# timeout, lockguard.locks, lockguard.queue_stats), and no lock survives the restart, because
# a named lock is transaction-scoped and its holder's session ends with the server.
use strict;
use warnings;

# PostgreSQL::Test::Utils creates $TESTDIR/tmp_check at start-up but not $TESTDIR itself.
BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('restart');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'lockguard'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION lockguard');

# A session that holds a named lock when the server restarts.
my $holder = $node->background_psql('postgres');
$holder->query_safe("BEGIN");
$holder->query_safe("SELECT lockguard_acquire('restart:held')");
my $holder_pid = $holder->query_safe('SELECT pg_backend_pid()');

is( $node->safe_psql(
		'postgres',
		"SELECT resource, mode, granted, pid = $holder_pid FROM lockguard.locks"),
	'restart:held|exclusive|t|t',
	'before the restart: lockguard.locks shows the held lock');

my ($rc, $stdout, $stderr) = $node->psql('postgres',
	"BEGIN; SELECT lockguard_acquire('restart:held', timeout_ms => 0);",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($rc, 0, 'before the restart: another session cannot take the lock');
like(
	$stderr,
	qr/ERROR:  55P03: could not obtain lockguard named lock on "restart:held" without waiting/,
	'before the restart: the failure is 55P03 without waiting');

$node->restart;    # fast shutdown: the holder's session is terminated
eval { $holder->quit; };

is($node->safe_psql('postgres', 'SELECT count(*) FROM lockguard.locks'),
	'0', 'after the restart: lockguard.locks is empty');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid IN (19527, 19528, 19529)"),
	'0',
	'after the restart: no lock in lockguard\'s key space in pg_locks');

# The lock did not survive: timeout_ms => 0 gets it at once. The extension works: the view
# shows the new holder.
is( $node->safe_psql(
		'postgres', q{
BEGIN;
DO $$ BEGIN PERFORM lockguard_acquire('restart:held', timeout_ms => 0); END $$;
SELECT resource, scope, mode, granted, pid = pg_backend_pid() FROM lockguard.locks;
COMMIT;
}),
	'restart:held|named|exclusive|t|t',
	'after the restart: the lock is free and taking it shows in lockguard.locks');

# Waiting still works after the restart: shared memory was set up again.
my $holder2 = $node->background_psql('postgres');
$holder2->query_safe("BEGIN");
$holder2->query_safe("SELECT lockguard_acquire('restart:again')");
($rc, $stdout, $stderr) = $node->psql('postgres',
	"BEGIN; SELECT lockguard_acquire('restart:again', timeout_ms => 100);",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($rc, 0, 'after the restart: a waiter on a held lock fails after its timeout');
like(
	$stderr,
	qr/ERROR:  55P03: could not obtain lockguard named lock on "restart:again" within \d+ ms/,
	'after the restart: the timeout is 55P03');
$holder2->query_safe("COMMIT");
$holder2->quit;

like($node->safe_psql('postgres', 'SELECT waits >= 0 AND inconsistent_queues = 0 FROM lockguard.queue_stats()'),
	qr/^t$/, 'after the restart: lockguard.queue_stats() answers');
is($node->safe_psql('postgres', 'SELECT count(*) FROM lockguard.locks'),
	'0', 'at the end: no lock left');

$node->stop;
done_testing();
