# Tenant accounting never leaks: a backend cancelled while waiting, terminated while holding
# and while waiting, and killed outright (a crash restart) gives every budget slot back.
use strict;
use warnings;

BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('crash_tenants');  # 'crash_': its SIGKILL is expected (test/run-all.sh)
$node->init;
# lockguard.database = '': no worker, whose restarts would only add noise to the crash below.
# restart_after_crash = on (the default, stated): the test kills a backend and needs the restart.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'lockguard'
lockguard.database = ''
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION lockguard;
CREATE ROLE acme_app LOGIN;
INSERT INTO lockguard.tenant_budgets (tenant, max_held, max_waiters) VALUES ('acme', 10, 10);
INSERT INTO lockguard.tenant_roles VALUES ('acme_app', 'acme');
});

sub counts {
	return $node->safe_psql('postgres',
		"SELECT held_now || '/' || waiting_now FROM lockguard.tenants WHERE tenant = 'acme'");
}

sub pid_of {
	my ($session) = @_;
	return $session->query_safe('SELECT pg_backend_pid()');
}

# One acme session holds two locks; two more wait for them.
my $holder = $node->background_psql('postgres', extra_params => [ '-U', 'acme_app' ]);
$holder->query_safe("BEGIN; SELECT lockguard_acquire('a:1'); SELECT lockguard_acquire('a:2')");
my $holder_pid = pid_of($holder);
my $waiter1 = $node->background_psql('postgres', extra_params => [ '-U', 'acme_app' ], on_error_stop => 0);
my $waiter1_pid = pid_of($waiter1);
$waiter1->query_until(qr/start/, "\\echo start\nBEGIN; SELECT lockguard_acquire('a:1', timeout_ms => 60000);\n");
my $waiter2 = $node->background_psql('postgres', extra_params => [ '-U', 'acme_app' ], on_error_stop => 0);
my $waiter2_pid = pid_of($waiter2);
$waiter2->query_until(qr/start/, "\\echo start\nBEGIN; SELECT lockguard_acquire('a:2', timeout_ms => 60000);\n");
ok($node->poll_query_until('postgres',
		"SELECT held_now = 2 AND waiting_now = 2 FROM lockguard.tenants WHERE tenant = 'acme'"),
	'two locks held and two waiters counted');

# Cancelled while waiting: the waiter slot comes back, the session lives on.
$node->safe_psql('postgres', "SELECT pg_cancel_backend($waiter1_pid)");
ok($node->poll_query_until('postgres',
		"SELECT waiting_now = 1 FROM lockguard.tenants WHERE tenant = 'acme'"),
	'a cancelled waiter gives its waiter slot back');
$waiter1->query('ROLLBACK');

# Terminated while waiting (FATAL skips the error path): the slot still comes back.
$node->safe_psql('postgres', "SELECT pg_terminate_backend($waiter2_pid)");
ok($node->poll_query_until('postgres',
		"SELECT waiting_now = 0 FROM lockguard.tenants WHERE tenant = 'acme'"),
	'a terminated waiter gives its waiter slot back');
eval { $waiter2->quit; };

# Terminated while holding: both held slots come back.
is(counts(), '2/0', 'the holder still holds two');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($holder_pid)");
ok($node->poll_query_until('postgres',
		"SELECT held_now = 0 FROM lockguard.tenants WHERE tenant = 'acme'"),
	'a terminated holder gives its held slots back');
eval { $holder->quit; };

# A normal exit while holding (the client goes away mid-transaction).
my $leaver = $node->background_psql('postgres', extra_params => [ '-U', 'acme_app' ]);
$leaver->query_safe("BEGIN; SELECT lockguard_acquire('a:3')");
is(counts(), '1/0', 'a third session holds one');
$leaver->quit;
ok($node->poll_query_until('postgres',
		"SELECT held_now = 0 FROM lockguard.tenants WHERE tenant = 'acme'"),
	'a backend that exits while holding gives its slot back');

# Killed outright: the server restarts after the crash and lockguard's shared memory starts
# empty: no slot stays taken, and the budget is loaded again from the table.
my $victim = $node->background_psql('postgres', extra_params => [ '-U', 'acme_app' ]);
$victim->query_safe("BEGIN; SELECT lockguard_acquire('a:4')");
my $victim_pid = pid_of($victim);
is(counts(), '1/0', 'the session to be killed holds one');
kill 'KILL', $victim_pid;
eval { $victim->quit; };
ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'the server is back after the crash');
is(counts(), '0/0', 'after the crash restart no slot is taken');
is($node->safe_psql('postgres', "SELECT max_held FROM lockguard.tenants WHERE tenant = 'acme'"),
	'10', 'the budget is loaded again from the table');
ok($node->log_contains('terminated by signal 9'), 'the crash really happened');

$node->stop;
done_testing();
