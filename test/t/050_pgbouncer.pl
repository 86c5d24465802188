# lockguard behind PgBouncer in transaction pooling mode (docs/deployment.md). First proves the
# pooling really happens: one client's consecutive transactions run on different server
# connections, and one server connection serves several clients. Then, through the pooler:
# locks are released at every transaction end, tenant counters return to zero and count each
# acquisition once, a wait and a timeout are counted in wait_stats, run-once keys are claimed
# exactly once (also by two clients racing), application_name follows the client (a
# traceparent in it reaches lockguard's audit), and the documented hazard: a plain SET of
# lockguard.tenant stays on the server connection and is used by the next client's
# transaction, while SET LOCAL ends with the transaction.
use strict;
use warnings;

BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LgDeployment;
use LgPrereq;

my $pgbouncer = require_program('pgbouncer', 'pgbouncer');

my $node = PostgreSQL::Test::Cluster->new('pgbouncer');
$node->init;
# No worker (database ''): not under test here. max_connections = 20: pgbouncer's pool is smaller.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'lockguard'
lockguard.database = ''
max_connections = 20
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION lockguard;
CREATE ROLE app_pool LOGIN;
INSERT INTO lockguard.tenant_budgets (tenant, max_held, max_waiters) VALUES ('acme', 10, 10), ('globex', 10, 10);
INSERT INTO lockguard.tenant_roles (role, tenant, may_set_tenant) VALUES ('app_pool', 'default', true);
});

# PgBouncer on loopback: "app" has two server connections handed out round robin, "app_one"
# has a single one (every client shares it).
my $dir = PostgreSQL::Test::Utils::tempdir();
my $port = free_loopback_port();
my ($host, $pg_port) = ($node->host, $node->port);
PostgreSQL::Test::Utils::append_to_file("$dir/userlist.txt", qq{"app_pool" ""\n"postgres" ""\n});
PostgreSQL::Test::Utils::append_to_file("$dir/pgbouncer.ini", qq{
[databases]
app = host=$host port=$pg_port dbname=postgres pool_size=2
app_one = host=$host port=$pg_port dbname=postgres pool_size=1

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
server_round_robin = 1
max_client_conn = 50
admin_users = postgres
});
my $log = $node->basedir . '/pgbouncer.log';
start_server('pgbouncer', [ $pgbouncer, "$dir/pgbouncer.ini" ], $log);
ok(wait_for_port($port), 'PgBouncer listens on 127.0.0.1');

my $client_count = 0;

sub client
{
	my ($database, $application_name) = @_;
	$client_count++;
	$application_name //= "client$client_count";
	my $session = LgDeployment::Session->new(
		"host=127.0.0.1 port=$port dbname=$database user=app_pool application_name=$application_name",
		$node->installed_command('psql'));
	$session->query_safe('\set VERBOSITY verbose');
	return $session;
}

# The last line of a query's output (a void function like lockguard_acquire prints an empty one).
sub last_line
{
	my ($out) = @_;
	return (split(/\n/, $out))[-1] // '';
}

sub direct
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

my @clients = map { client('app') } 1 .. 4;

# ---- The pooling is real ---------------------------------------------------------------------

# Two overlapping transactions make the pool open its second server connection.
$clients[0]->query_safe('BEGIN; SELECT 1');
$clients[1]->query_safe('BEGIN; SELECT 1');
$clients[$_]->query_safe('COMMIT') for 0, 1;

# Three clients take turns on the two connections, so that the turns do not line up with them.
my (%pids_of_client, %clients_of_pid);
my ($switches, $own_names) = (0, 0);
for my $round (1 .. 4)
{
	for my $c (0 .. 2)
	{
		my ($pid, $name) = split / /,
		  $clients[$c]->query_safe(q{BEGIN; SELECT pg_backend_pid() || ' ' || current_setting('application_name'); COMMIT});
		$own_names++ if $name eq 'client' . ($c + 1);
		my $previous = $pids_of_client{$c}[-1];
		$switches++ if defined $previous && $previous != $pid;
		push @{ $pids_of_client{$c} }, $pid;
		$clients_of_pid{$pid}{$c} = 1;
	}
}
my $server_pids = join(',', sort keys %clients_of_pid);
note "server pids per client: " . join('; ', map { "$_: @{$pids_of_client{$_}}" } sort keys %pids_of_client);
is( direct("SELECT count(*) FROM pg_stat_activity WHERE pid IN ($server_pids) AND usename = 'app_pool'"),
	2, 'the clients ran on the two server connections of the pool, both real backends');
ok($switches > 0, "a client's consecutive transactions ran on different server connections ($switches switches)");
is( scalar(grep { keys %{ $clients_of_pid{$_} } >= 2 } keys %clients_of_pid),
	2, 'each server connection served several clients');
is($own_names, 12, "every transaction saw its own client's application_name (PgBouncer sets it per client)");

# ---- Acquisition and release, tenants -------------------------------------------------------

# Every client takes the same lock, transaction after transaction, with no wait allowed: a lock
# left behind on a server connection would make the next transaction elsewhere fail with 55P03.
my %acquired = (acme => 0, globex => 0);
my ($clean, $failures) = (0, '');
for my $round (1 .. 3)
{
	for my $c (0 .. 3)
	{
		my $tenant = $c % 2 ? 'globex' : 'acme';
		my ($out, $err) = $clients[$c]->query(qq{
BEGIN;
SET LOCAL lockguard.tenant = '$tenant';
SELECT lockguard_acquire('order:shared', timeout_ms => 0);
SELECT lockguard_acquire('order:$c');
SELECT count(*) || ':' || string_agg(DISTINCT tenant, ',') FROM lockguard.locks WHERE pid = pg_backend_pid();
COMMIT});
		$acquired{$tenant} += 2;
		if ($err eq '' && $out =~ /^2:$tenant$/m) { $clean++ }
		else { $failures .= "client $c round $round: $out $err\n" }
	}
}
is($clean, 12, 'every transaction got the shared lock at once and saw only its own two locks, with its tenant')
  or diag($failures);
is(direct('SELECT count(*) FROM lockguard.locks'), 0, 'no lockguard lock is left on any server connection');
is( direct(q{SELECT string_agg(tenant || ' ' || held_now || ' ' || waiting_now || ' ' || acquisitions, ', ' ORDER BY tenant)
             FROM lockguard.tenants WHERE tenant IN ('acme', 'globex')}),
	"acme 0 0 $acquired{acme}, globex 0 0 $acquired{globex}",
	'tenant counters are back to zero and counted every acquisition once, whichever connection ran it');

# ---- A wait and a timeout -------------------------------------------------------------------

my $holder_pid = last_line($clients[0]->query_safe(q{BEGIN; SET LOCAL lockguard.tenant = 'acme';
SELECT lockguard_acquire('hot:1'); SELECT pg_backend_pid()}));
$clients[1]->send(q{BEGIN; SET LOCAL lockguard.tenant = 'globex';
SELECT lockguard_acquire('hot:1', timeout_ms => 60000); SELECT 'granted'; COMMIT});
ok( $node->poll_query_until('postgres', qq{
SELECT blocked_by = '{$holder_pid}' FROM lockguard.locks WHERE resource = 'hot:1' AND NOT granted}),
	'a client waits, on the other server connection, for the one holding the lock');
is(direct(q{SELECT waiting_now FROM lockguard.tenants WHERE tenant = 'globex'}), 1, 'the waiter is counted for its tenant');
$clients[0]->query_safe('COMMIT');
like(scalar $clients[1]->query('SELECT 1'), qr/^granted$/m, 'the waiter is granted when the holder commits');

# The client that times out carries a W3C traceparent in its application_name.
my $trace_id = '4bf92f3577b34da6a3ce929d0e0e4736';
my $traced = client('app', "00-$trace_id-00f067aa0ba902b7-01");
$clients[0]->query_safe(q{BEGIN; SELECT lockguard_acquire('hot:1')});
my (undef, $timeout_err) = $traced->query(q{BEGIN; SET LOCAL lockguard.tenant = 'globex';
SELECT lockguard_acquire('hot:1', timeout_ms => 100)});
like($timeout_err, qr/ERROR:  55P03/, 'a waiter that times out gets 55P03');
$traced->query('ROLLBACK');
$clients[0]->query_safe('COMMIT');
is( direct(q{SELECT acquisitions || ' ' || waited || ' ' || timeouts || ' ' || (max_ms > 0) FROM lockguard.wait_stats
             WHERE tenant = 'globex' AND scope = 'named' AND resource_class = 'hot'}),
	'1 1 1 true', 'wait_stats counted the wait of globex (granted after waiting) and its timeout');
is( direct(q{SELECT trace_id FROM lockguard.audit WHERE resource = 'hot:1' AND outcome = 'timeout'}),
	$trace_id, "the timeout is audited with the trace id of the client's traceparent");
is( direct(q{SELECT sum(held_now + waiting_now) FROM lockguard.tenants}),
	0, 'after the waits, no tenant counts a lock held or awaited');

# ---- Run-once keys --------------------------------------------------------------------------

# Every client tries every key, each in its own transaction: each key is claimed once.
my %claims;
for my $key (1 .. 4)
{
	for my $c (0 .. 3)
	{
		my $claimed = $clients[$c]->query_safe("BEGIN; SELECT claimed FROM lockguard.claim_operation('job:$key')");
		if ($claimed eq 't')
		{
			$clients[$c]->query_safe("SELECT lockguard.complete_operation('job:$key', '{\"by\": $c}')");
			$claims{$key}++;
		}
		$clients[$c]->query_safe('COMMIT');
	}
}
is(join(',', map { $claims{$_} // 0 } 1 .. 4), '1,1,1,1', 'each run-once key was claimed exactly once');

# Two clients race for one key on two server connections: the second waits for the first.
my $first = $clients[0]->query_safe(q{BEGIN; SELECT claimed FROM lockguard.claim_operation('race:1')});
$clients[1]->send(q{BEGIN; SELECT claimed || ' ' || result FROM lockguard.claim_operation('race:1'); COMMIT});
ok( $node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity WHERE usename = 'app_pool' AND wait_event_type = 'Lock'}),
	'the second claim waits for the first transaction');
$clients[0]->query_safe(q{SELECT lockguard.complete_operation('race:1', '{"by": 0}'); COMMIT});
is($first . ' / ' . $clients[1]->query_safe('SELECT 1'),
	"t / false {\"by\": 0}\n1", 'the first claims the key; the second sees it done, with its result');
is(direct(q{SELECT count(*) FROM lockguard.operations}), 5, 'one row per key');

my (undef, $autocommit_err) = $clients[2]->query(q{SELECT * FROM lockguard.claim_operation('job:9')});
like($autocommit_err, qr/ERROR:  25P01/, 'a claim outside a transaction block is refused through the pooler too');

# ---- SET versus SET LOCAL -------------------------------------------------------------------

# app_one has one server connection: what one client leaves there, the next one gets.
my @one = map { client('app_one') } 1 .. 2;
my $tenant_seen = q{BEGIN; SELECT lockguard_acquire('leak:1');
SELECT tenant FROM lockguard.locks WHERE pid = pg_backend_pid(); COMMIT};
is(last_line($one[1]->query_safe($tenant_seen)), 'default', 'a client without a tenant setting acts for default');
$one[0]->query_safe(q{SET lockguard.tenant = 'acme'});
is(last_line($one[1]->query_safe($tenant_seen)), 'acme',
	"hazard: another client's plain SET lockguard.tenant stays on the server connection and is used");
$one[0]->query_safe('RESET lockguard.tenant');
$one[0]->query_safe(q{BEGIN; SET lockguard.tenant = 'acme'; COMMIT});
is(last_line($one[1]->query_safe($tenant_seen)), 'acme', 'a plain SET inside a transaction block leaks the same way');
$one[0]->query_safe('RESET lockguard.tenant');
is( last_line($one[0]->query_safe(q{BEGIN; SET LOCAL lockguard.tenant = 'acme'; SELECT lockguard_acquire('leak:2');
SELECT tenant FROM lockguard.locks WHERE pid = pg_backend_pid(); COMMIT})),
	'acme', 'SET LOCAL sets the tenant for its own transaction');
is(last_line($one[1]->query_safe($tenant_seen)), 'default', 'and ends with it: the next client is not affected');

$_->quit for @clients, @one, $traced;
$node->stop;
done_testing();
