# The real postgres_exporter, started with docs/prometheus/lockguard-queries.yaml against a test
# cluster, exposes lockguard's metrics on /metrics during a staged contention (a holder, a
# waiter of another tenant, a tenant refused over its budget) and after it (the wait counted,
# a deadlock captured), with the documented monitoring role. Every metric the alert rules use
# is exposed. A real Prometheus then scrapes the exporter, evaluates
# docs/prometheus/lockguard-alerts.yaml and fires the tenant-budget alert while the tenant is full.
use strict;
use warnings;

BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use HTTP::Tiny;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LgDeployment;
use LgPrereq;

my $exporter = require_program('prometheus-postgres-exporter', 'prometheus-postgres-exporter');
my $prometheus_program = require_program('prometheus', 'prometheus');

my $source = source_dir();
my $queries = "$source/docs/prometheus/lockguard-queries.yaml";
my $alerts = "$source/docs/prometheus/lockguard-alerts.yaml";

my $node = PostgreSQL::Test::Cluster->new('exporter');
$node->init;
# sample_interval_ms = 100 and deadlock_timeout = 100ms: the staged waits and deadlock show up in
# the exporter's metrics within a fraction of a second.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'lockguard'
lockguard.sample_interval_ms = 100
deadlock_timeout = 100ms
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION lockguard;
CREATE ROLE postgres_exporter LOGIN IN ROLE pg_monitor, lockguard_monitor;
CREATE ROLE acme_app LOGIN;
CREATE ROLE globex_app LOGIN;
INSERT INTO lockguard.tenant_budgets (tenant, max_held, max_waiters) VALUES ('acme', 1, 1), ('globex', 10, 10);
INSERT INTO lockguard.tenant_roles (role, tenant) VALUES ('acme_app', 'acme'), ('globex_app', 'globex');
});

# ---- The exporter ---------------------------------------------------------------------------

my $port = free_loopback_port();
my $exporter_log = $node->basedir . '/postgres_exporter.log';
start_server(
	'postgres_exporter',
	[ $exporter, "--extend.query-path=$queries",
	  "--web.listen-address=127.0.0.1:$port" ],
	$exporter_log,
	DATA_SOURCE_NAME => 'host=' . $node->host . ' port=' . $node->port
	  . ' user=postgres_exporter dbname=postgres sslmode=disable');
ok(wait_for_port($port), 'postgres_exporter listens on 127.0.0.1');

my $http = HTTP::Tiny->new(timeout => 30);

# One scrape as { name => [ [ {labels}, value ], ... ] }.
sub scrape
{
	my $response = $http->get("http://127.0.0.1:$port/metrics");
	die "scrape failed: $response->{status} $response->{reason}" unless $response->{success};
	my %metrics;
	for my $line (split /\n/, $response->{content})
	{
		next if $line =~ /^#/ || $line !~ /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/;
		my ($name, $labels, $value) = ($1, $2 // '', $3);
		my %labels = $labels =~ /(\w+)="((?:[^"\\]|\\.)*)"/g;
		push @{ $metrics{$name} }, [ \%labels, $value ];
	}
	return \%metrics;
}

# The value of the one sample of $name whose labels include %want; undef when there is none.
sub value
{
	my ($metrics, $name, %want) = @_;
	my @found = grep {
		my $labels = $_->[0];
		!grep { ($labels->{$_} // "\0") ne $want{$_} } keys %want
	} @{ $metrics->{$name} // [] };
	die "more than one $name sample matches" if @found > 1;
	return @found ? $found[0][1] : undef;
}

my $metrics;
ok(wait_until(sub { $metrics = scrape(); (value($metrics, 'pg_up') // 0) == 1 }),
	'the exporter reaches the cluster as postgres_exporter (pg_up 1)');
is(value($metrics, 'pg_exporter_user_queries_load_error', filename => $queries),
	0, 'the exporter loaded lockguard-queries.yaml');
is(value($metrics, 'pg_exporter_last_scrape_error'), 0, "the exporter's last scrape had no error");
is(value($metrics, 'lockguard_tenant_max_held', tenant => 'acme'), 1, 'budgets are exported (acme max_held 1)');
is(value($metrics, 'lockguard_tenant_max_held', tenant => 'globex'), 10, 'for every tenant (globex max_held 10)');
is(value($metrics, 'lockguard_tenant_max_held', tenant => 'default'), -1, 'no limit is -1');


# ---- During a staged contention -------------------------------------------------------------

# acme holds payment:1 (its whole budget), globex waits for it, and a second acme session is
# refused with LG001.
my $holder = $node->background_psql('postgres', extra_params => [ '-U', 'acme_app' ]);
$holder->query_safe(q{BEGIN; SELECT lockguard_acquire('payment:1')});
my $waiter = $node->background_psql('postgres', extra_params => [ '-U', 'globex_app' ]);
$waiter->query_until(qr/start/, "\\echo start\nBEGIN; SELECT lockguard_acquire('payment:1', timeout_ms => 60000);\n");
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM lockguard.locks WHERE NOT granted}),
	'globex waits for the lock acme holds');
my (undef, undef, $refused) = $node->psql('postgres', q{BEGIN; SELECT lockguard_acquire('other:1'); ROLLBACK},
	extra_params => [ '-U', 'acme_app', '-v', 'VERBOSITY=verbose' ]);
like($refused, qr/ERROR:  LG001: /, 'another acme session is refused over the budget (LG001)');

ok(wait_until(sub { $metrics = scrape(); (value($metrics, 'lockguard_blocking_oldest_root_blocker_seconds') // 0) > 0 }),
	'lockguard_blocking_oldest_root_blocker_seconds rises while globex waits');
is(value($metrics, 'lockguard_blocking_root_blockers'), 1, 'lockguard_blocking_root_blockers is 1');
is(value($metrics, 'lockguard_blocking_waiters'), 1, 'lockguard_blocking_waiters is 1');
is(value($metrics, 'lockguard_tenant_held_now', tenant => 'acme'), 1, 'lockguard_tenant_held_now{tenant="acme"} is 1');
is(value($metrics, 'lockguard_tenant_held_ratio', tenant => 'acme'), 1, 'lockguard_tenant_held_ratio{tenant="acme"} is 1');
is(value($metrics, 'lockguard_tenant_waiting_now', tenant => 'globex'), 1, 'lockguard_tenant_waiting_now{tenant="globex"} is 1');
ok(value($metrics, 'lockguard_tenant_rejected', tenant => 'acme') >= 1, 'lockguard_tenant_rejected{tenant="acme"} counted the refusal');

# ---- A real Prometheus evaluates the alert rules on these series ----------------------------

my $prometheus_port = free_loopback_port();
my $prometheus_dir = PostgreSQL::Test::Utils::tempdir();
PostgreSQL::Test::Utils::append_to_file("$prometheus_dir/prometheus.yml", qq{
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $alerts
scrape_configs:
  - job_name: postgres
    static_configs:
      - targets: ['127.0.0.1:$port']
});
my $prometheus = start_server(
	'prometheus',
	[ $prometheus_program, "--config.file=$prometheus_dir/prometheus.yml",
	  "--storage.tsdb.path=$prometheus_dir/data", "--web.listen-address=127.0.0.1:$prometheus_port" ],
	$node->basedir . '/prometheus.log');
ok(wait_for_port($prometheus_port), 'Prometheus listens on 127.0.0.1');
my $firing;
ok( wait_until(
		sub {
			my $response = $http->get("http://127.0.0.1:$prometheus_port/api/v1/alerts");
			return 0 unless $response->{success};
			($firing) = grep { $_->{labels}{alertname} eq 'LockguardTenantOverBudget' && $_->{state} eq 'firing' }
			  @{ decode_json($response->{content})->{data}{alerts} };
			return $firing;
		}),
	'Prometheus fires LockguardTenantOverBudget from the exporter\'s series');
is($firing->{labels}{tenant}, 'acme', 'for the tenant that is full');
stop_server($prometheus);

# ---- After the contention: the wait and a deadlock are counted ------------------------------

$holder->query_safe('COMMIT');
$waiter->query_safe('COMMIT');
$holder->quit;
$waiter->quit;

my $s1 = $node->background_psql('postgres', on_error_stop => 0);
my $s2 = $node->background_psql('postgres', on_error_stop => 0);
$s1->query_safe(q{BEGIN; SELECT lockguard_acquire('dl:a')});
$s2->query_safe(q{BEGIN; SELECT lockguard_acquire('dl:b')});
$s1->query_until(qr/start/, "\\echo start\nSELECT lockguard_acquire('dl:b', timeout_ms => 30000);\n");
$s2->query(q{SELECT lockguard_acquire('dl:a', timeout_ms => 30000)});
$s2->query('ROLLBACK');
$s1->query('ROLLBACK');
$s1->quit;
$s2->quit;

# lockguard records the deadlocks of its own acquisitions itself (source "lockguard").
ok(wait_until(sub { $metrics = scrape(); (value($metrics, 'lockguard_deadlocks_captured', source => 'lockguard') // 0) == 1 }),
	'lockguard_deadlocks_captured{source="lockguard"} counts the deadlock')
  or diag(explain($metrics->{lockguard_deadlocks_captured}), $node->safe_psql('postgres', 'SELECT * FROM lockguard.deadlocks'));
is(value($metrics, 'lockguard_wait_deadlocks', tenant => 'default', scope => 'named', resource_class => 'dl'),
	1, 'lockguard_wait_deadlocks counts it for its resource class');
is(value($metrics, 'pg_stat_database_deadlocks', datname => 'postgres'),
	1, "postgres_exporter's pg_stat_database_deadlocks (read by the deadlock-rate alert) agrees");
is(value($metrics, 'lockguard_blocking_waiters'), 0, 'nobody waits any more');
is(value($metrics, 'lockguard_tenant_waiting_now', tenant => 'globex'), 0, 'globex waits for nothing');
is(value($metrics, 'lockguard_tenant_held_now', tenant => 'acme'), 0, 'acme holds nothing');
is(value($metrics, 'lockguard_wait_waited', tenant => 'globex', scope => 'named', resource_class => 'payment'),
	1, "lockguard_wait_waited counts globex's wait");
ok(value($metrics, 'lockguard_wait_p95_ms', tenant => 'globex', scope => 'named', resource_class => 'payment') > 0,
	"lockguard_wait_p95_ms shows globex's wait");
is(value($metrics, 'pg_exporter_last_scrape_error'), 0, 'no scrape error all along');

# Every metric the alert rules read is exposed by the real exporter (wait statistics once
# something was acquired).
my $rules = slurp_file($alerts);
my %used = map { $_ => 1 } join(' ', $rules =~ /^\s+expr:\s*\|?\s*(.*?)(?=^\s+for:)/msg) =~ /\b((?:lockguard|pg)_\w+)/g;
ok(keys %used >= 6, 'the alert rules read ' . join(', ', sort keys %used));
is(join(', ', grep { !$metrics->{$_} } sort keys %used), '', 'each of them is on /metrics');

$node->stop;
done_testing();
