# Waiters of one tenant and one priority are granted in arrival order: a releaser never permutes
# such a queue. Fair share compares tenants by locks held / weight; that count moves while the
# queue is read, so it must be read once per tenant, or same-tenant waiters would be shuffled
# at random (seen in the benchmark as a lock-wait p95 near lockguard.aging_grace_ms).
# pgbench drives 16 clients at 2 named resources, all tenant "default", priority 0; then
# lockguard.queue_stats() must show many waits and no waiter moved.
use strict;
use warnings;

BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('queue_fifo');
$node->init;
# max_connections = 40: the pgbench clients below and little shared memory.
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'lockguard'\nmax_connections = 40\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION lockguard');

# Each transaction holds its lock a little while, so queues form behind every holder; the
# other resource's holders change the default tenant's held count all the time.
my $script = $node->basedir . '/acquire.sql';
PostgreSQL::Test::Utils::append_to_file($script, <<'SQL');
\set id random(1, 2)
BEGIN;
SELECT lockguard_acquire('fifo:' || :id, timeout_ms => 60000);
SELECT pg_sleep(0.002);
COMMIT;
SQL

$node->command_ok(
	[ 'pgbench', '-n', '-c', '16', '-j', '4', '-t', '150', '-f', $script, '-p', $node->port, '-h', $node->host,
	  'postgres' ],
	'pgbench: 16 clients, 2 named resources, one tenant, one priority');

my ($waits, $moved) = split /\|/, $node->safe_psql('postgres', 'SELECT waits, moved FROM lockguard.queue_stats()');
cmp_ok($waits, '>', 100, "the clients really queued ($waits waits)");
is($moved, 0, 'no waiter of the same tenant and priority was moved ahead of an earlier one');

$node->stop;
done_testing();
