# pg_upgrade from PostgreSQL 15 to 18 (docs/installation.md, "Upgrading PostgreSQL"), twice:
#
# 1. A 15 primary with a streaming standby; tokens issued and checked; the standby promoted
#    (timeline 2), more tokens there and on the old primary (still running: a split brain);
#    lockguard data in every table. The promoted server is upgraded to 18: pg_upgrade starts the
#    new cluster on timeline 1 again. Then: the data is there, the worker runs, run-once keys
#    replay, every token issued after the upgrade is above every token issued before it; and
#    once more after a standby of the upgraded cluster is promoted.
# 2. A never-promoted 15 cluster at extension version 1.0, its tables filled as 1.0 would have
#    them (tokens a 1.0 library issued and checked), upgraded to 18, then ALTER EXTENSION lockguard
#    UPDATE through every version script, and the same checks.
#
# Before either: the 18 library still exports every C symbol that any version script names.
#
# The 18 installation comes from LG_UPGRADE_TO (a PostgreSQL 18 prefix with this tree's lockguard
# installed; test/run-all.sh makes one in its 15 run). The servers of this run must be 15: under
# another major the file is skipped; in the 15 run of the test command, a missing LG_UPGRADE_TO
# fails it (LgPrereq).
use strict;
use warnings;

BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use FindBin;
use lib "$FindBin::RealBin/../perl";
use IPC::Run;
use LgPrereq;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old_version = '';
IPC::Run::run([ 'pg_config', '--version' ], '>', \$old_version) or die "pg_config --version failed";
plan skip_all => "pg_upgrade is tested from PostgreSQL 15 (the 15 run of test/run-all.sh), not $old_version"
  unless $old_version =~ /^PostgreSQL 15\./;
my $new_prefix = $ENV{LG_UPGRADE_TO} // '';
my ($new_version, $new_pkglibdir) = ('', '');
IPC::Run::run([ "$new_prefix/bin/pg_config", '--version' ], '>', \$new_version)
  and IPC::Run::run([ "$new_prefix/bin/pg_config", '--pkglibdir' ], '>', \$new_pkglibdir)
  if $new_prefix ne '' && -x "$new_prefix/bin/pg_config";
chomp $new_pkglibdir;
LgPrereq::skip_or_fail("LG_UPGRADE_TO ('$new_prefix') does not name a PostgreSQL 18 installation with lockguard")
  unless $new_version =~ /^PostgreSQL 18\./ && -x "$new_prefix/bin/pg_upgrade" && -f "$new_pkglibdir/lockguard.so";
my $old_bindir = '';
IPC::Run::run([ 'pg_config', '--bindir' ], '>', \$old_bindir) or die "pg_config --bindir failed";
chomp $old_bindir;

my $settings = "shared_preload_libraries = 'lockguard'\nlockguard.sample_interval_ms = 100\n";
my @tables = qw(tenant_budgets tenant_roles lock_policies blocker_exempt_roles operations fencing_seen
  audit_log wait_history deadlock_log conflict_counts);

# Every table gets rows. The worker's tables are filled directly: what is tested is that
# pg_upgrade carries them, not how the worker writes them (test/t/020_worker.pl).
sub fill_tables
{
	my ($node, $tag) = @_;
	$node->safe_psql('postgres', qq{
CREATE ROLE ${tag}_app;
CREATE TABLE ${tag}_accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO lockguard.tenant_budgets (tenant, max_held) VALUES ('${tag}_tenant', 7);
INSERT INTO lockguard.tenant_roles (role, tenant) VALUES ('${tag}_app', '${tag}_tenant');
INSERT INTO lockguard.lock_policies (relation, reason) VALUES ('${tag}_accounts', 'kept across pg_upgrade');
INSERT INTO lockguard.blocker_exempt_roles (role, reason) VALUES ('${tag}_app', 'kept');
INSERT INTO lockguard.audit_log (epoch, seq, logged_at, pid, resource, resource_class, scope, mode, priority,
    waited_ms, outcome, attempts, blocking_pids)
  VALUES (now(), 1, now(), 4711, '${tag}:res', '${tag}', 'transaction', 'exclusive', 0, 12.5, 'timeout', 1, '{4712}');
INSERT INTO lockguard.wait_history (sampled_at, waiter_pid, blocker_pid, locktype, target)
  VALUES (now(), 4711, 4712, 'advisory', '${tag}:res');
INSERT INTO lockguard.deadlock_log VALUES (now(), 1, now(), 4711, NULL, 'lockguard', 'deadlock detected', '${tag}');
INSERT INTO lockguard.conflict_counts (kind, target, sampled_waits, last_seen) VALUES ('named', '${tag}:res', 3, now());
});
}

# Each table's rows, one hash per row over the columns the table has now (or, with $columns,
# those it had before: an update script may add columns).
sub table_rows
{
	my ($node, $columns) = @_;
	my %rows = (columns => {});
	for my $table (@tables)
	{
		my $names = $columns ? $columns->{$table} : $node->safe_psql('postgres',
			"SELECT string_agg(attname, ',') FROM pg_attribute
			 WHERE attrelid = 'lockguard.$table'::regclass AND attnum > 0 AND NOT attisdropped");
		$rows{columns}{$table} = $names;
		$rows{$table} = [ split(/\n/, $node->safe_psql('postgres',
			"SELECT md5((SELECT jsonb_object_agg(key, value) FROM jsonb_each(to_jsonb(t))
			             WHERE key = ANY('{$names}'))::text)
			 FROM lockguard.$table t ORDER BY 1")) ];
	}
	return \%rows;
}

sub check_rows_kept
{
	my ($node, $before, $what) = @_;
	my $after = table_rows($node, $before->{columns});
	for my $table (@tables)
	{
		my %now = map { $_ => 1 } @{ $after->{$table} };
		my @missing = grep { !$now{$_} } @{ $before->{$table} };
		ok(@{ $before->{$table} } > 0 && !@missing,
			"$what: every row of lockguard.$table is kept (" . scalar(@{ $before->{$table} }) . ")");
	}
}

sub tokens
{
	my ($node, $resource, $n) = @_;
	return map { $node->safe_psql('postgres', "SELECT lockguard.fencing_token('$resource')") } 1 .. $n;
}

sub max_of { my $m; for (@_) { $m = $_ if !defined $m || $_ > $m } return $m; }
sub min_of { my $m; for (@_) { $m = $_ if !defined $m || $_ < $m } return $m; }

# Tokens issued after an event are all above every token issued before it, and a write with the
# newest token from before is rejected once a token from after has been checked.
sub check_tokens_above
{
	my ($node, $before, $resource, $what) = @_;
	my @after = tokens($node, $resource, 5);
	cmp_ok(min_of(@after), '>', max_of(@$before),
		"$what: every token issued after is above every token issued before ("
		  . min_of(@after) . ' > ' . max_of(@$before) . ')');
	$node->safe_psql('postgres', "SELECT lockguard.check_fencing_token('$resource', $after[0])");
	my ($rc, $out, $err) = $node->psql('postgres',
		"SELECT lockguard.check_fencing_token('$resource', " . max_of(@$before) . ')',
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/LG003/, "$what: the newest token from before is stale now");
	return @after;
}

sub check_worker
{
	my ($node, $what) = @_;
	ok($node->poll_query_until('postgres',
			"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'lockguard worker'"),
		"$what: the worker runs");
}

# Run-once keys claimed before still replay: claimed = false, with the recorded result.
sub check_replay
{
	my ($node, $key, $result, $what) = @_;
	is($node->safe_psql('postgres',
			"BEGIN; SELECT claimed, result FROM lockguard.claim_operation('$key'); COMMIT;"),
		"f|$result", "$what: run-once key $key replays as done");
}

# Debian's 15.20 (and 17.12) give every column the attribute option pg_attver, which an 18
# release older than them (18.6, the cached build) does not know: pg_dump carries it into the new
# cluster and the restore fails with 'unrecognized parameter "pg_attver"'. Not lockguard's: every
# table has it. Where the new server refuses the option ($strip_attver, probed below), the test
# removes it from the old cluster's user columns before pg_upgrade, and says so
# (docs/installation.md: upgrade to an 18 release at least as recent as the old cluster's).
my $strip_attver;

sub strip_attver
{
	my ($node) = @_;
	for my $db (split(/\n/, $node->safe_psql('postgres', 'SELECT datname FROM pg_database WHERE datallowconn')))
	{
		$node->safe_psql($db, q{
UPDATE pg_catalog.pg_attribute
SET attoptions = NULLIF(ARRAY(SELECT o FROM unnest(attoptions) o WHERE o NOT LIKE 'pg\_attver=%'), '{}')
WHERE attrelid >= 16384 AND attoptions::text LIKE '%pg\_attver=%'});
	}
}

# pg_upgrade from $old (stopped here) into a new 18 cluster, which is returned started; %params
# go to its init.
sub upgrade
{
	my ($old, $name, %params) = @_;
	my $new = PostgreSQL::Test::Cluster->new($name, install_path => $new_prefix);
	# 18's initdb enables data checksums; pg_upgrade needs the old cluster's setting (off).
	$new->init(extra => ['--no-data-checksums'], %params);
	$new->append_conf('postgresql.conf', $settings);
	strip_attver($old) if $strip_attver;
	$old->stop;
	my $started = time;
	command_ok(
		[ "$new_prefix/bin/pg_upgrade", '--no-sync', '--copy',
			'-b', $old_bindir, '-B', "$new_prefix/bin",
			'-d', $old->data_dir, '-D', $new->data_dir,
			'-p', $old->port, '-P', $new->port, '-s', $new->host ],
		"$name: pg_upgrade from 15 to 18");
	note("pg_upgrade took " . (time - $started) . " s");
	$new->start;
	like($new->safe_psql('postgres', 'SELECT version()'), qr/^PostgreSQL 18\./, "$name: the server is 18");
	is($new->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn()) LIKE \'00000001%\''),
		't', "$name: the upgraded cluster writes timeline 1");
	return $new;
}

# --- The 18 library exports every C symbol any version script names ---------------------------
my %symbols;
for my $script (glob(LgPrereq::source_dir() . '/sql/lockguard--*.sql'))
{
	my $text = slurp_file($script);
	$symbols{$1} = 1 while $text =~ /'MODULE_PATHNAME'\s*,\s*'([A-Za-z0-9_]+)'/g;
}
my $probe = PostgreSQL::Test::Cluster->new('symbols', install_path => $new_prefix);
$probe->init(extra => ['--no-data-checksums']);
$probe->start;
# CREATE FUNCTION ... LANGUAGE C loads the library and looks the symbol (and its pg_finfo_) up.
my $n = 0;
my $create = join("\n", map { $n++; "CREATE FUNCTION pg_temp.s$n() RETURNS void AS '\$libdir/lockguard', '$_' LANGUAGE C;" }
	  sort keys %symbols);
my ($rc, $out, $err) = $probe->psql('postgres', "BEGIN;\n$create\nROLLBACK;", on_error_stop => 1);
ok(keys(%symbols) > 0 && $rc == 0,
	'the 18 library exports every one of the ' . scalar(keys %symbols) . ' C symbols the version scripts name')
  or diag($err);
($rc, $out, $err) = $probe->psql('postgres',
	'CREATE TABLE attver_probe (a int); ALTER TABLE attver_probe ALTER COLUMN a SET (pg_attver = 1)');
$strip_attver = $rc != 0 && $err =~ /unrecognized parameter "pg_attver"/;
note('the 18 server does not know the attribute option pg_attver: removed from the 15 clusters before pg_upgrade')
  if $strip_attver;
$probe->stop;

# --- 1. A promoted cluster ---------------------------------------------------------------------
my $primary = PostgreSQL::Test::Cluster->new('promoted_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', $settings);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION lockguard');
fill_tables($primary, 'p');
my @before = tokens($primary, 'ledger', 5);
$primary->safe_psql('postgres', "SELECT lockguard.check_fencing_token('ledger', $before[-1])");
$primary->safe_psql('postgres', q{
BEGIN;
SELECT claimed FROM lockguard.claim_operation('transfer:1');
SELECT lockguard.complete_operation('transfer:1', '{"transfer_id": 1}');
COMMIT;
});

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('promoted_standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
my @promoted = tokens($standby, 'ledger', 5);
is($standby->safe_psql('postgres', "SELECT timeline FROM lockguard.fencing_token_parts($promoted[0])"),
	'2', 'the promoted standby issues tokens on timeline 2');
cmp_ok(min_of(@promoted), '>', max_of(@before), 'and above those of the primary');
$standby->safe_psql('postgres', "SELECT lockguard.check_fencing_token('ledger', $promoted[-1])");
$standby->safe_psql('postgres', q{
BEGIN;
SELECT claimed FROM lockguard.claim_operation('transfer:2');
SELECT lockguard.complete_operation('transfer:2', '{"transfer_id": 2}');
COMMIT;
});
# The old primary, still running, issues more tokens on timeline 1 with a higher counter.
push @before, tokens($primary, 'ledger', 20), @promoted;
$primary->stop;
my $rows = table_rows($standby);

my $upgraded = upgrade($standby, 'promoted_new', allows_streaming => 1);
$upgraded->safe_psql('postgres', 'ALTER EXTENSION lockguard UPDATE');
is($upgraded->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'lockguard'"),
	'1.6', 'promoted: the extension is at 1.6');
check_rows_kept($upgraded, $rows, 'promoted');
check_worker($upgraded, 'promoted');
check_replay($upgraded, 'transfer:1', '{"transfer_id": 1}', 'promoted');
check_replay($upgraded, 'transfer:2', '{"transfer_id": 2}', 'promoted');
my @after = check_tokens_above($upgraded, \@before, 'ledger', 'promoted, upgraded');
is($upgraded->safe_psql('postgres', "SELECT timeline FROM lockguard.fencing_token_parts($after[0])"),
	'3', 'its epoch is one above the promoted cluster\'s timeline');

# A standby of the upgraded cluster, promoted: timeline 2 again, but the epoch goes on up.
$upgraded->backup('upgraded_base');
my $upgraded_standby = PostgreSQL::Test::Cluster->new('promoted_new_standby', install_path => $new_prefix);
$upgraded_standby->init_from_backup($upgraded, 'upgraded_base', has_streaming => 1);
$upgraded_standby->start;
push @before, tokens($upgraded, 'ledger', 3);
$upgraded->wait_for_catchup($upgraded_standby);
$upgraded_standby->promote;
$upgraded_standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
push @before, @after;
push @before, tokens($upgraded, 'ledger', 10);    # the old primary of this pair, still running
check_tokens_above($upgraded_standby, \@before, 'ledger', 'a standby of the upgraded cluster promoted');
check_worker($upgraded_standby, 'a standby of the upgraded cluster promoted');
$upgraded->stop;
$upgraded_standby->stop;

# --- 2. A never-promoted cluster at version 1.0 -------------------------------------------------
my $old = PostgreSQL::Test::Cluster->new('v10_old');
$old->init;
$old->append_conf('postgresql.conf', $settings);
$old->start;
$old->safe_psql('postgres', "CREATE EXTENSION lockguard VERSION '1.0'");
fill_tables($old, 'v');
# What a 1.0 library left: 30 tokens issued on timeline 1 (the counter), the newest of one
# resource checked, a run-once key completed (1.0's tables, without owners).
$old->safe_psql('postgres', q{
SELECT setval('lockguard.fencing_counter', 30);
INSERT INTO lockguard.fencing_seen VALUES ('ledger', (1::bigint << 47) + 29, now());
INSERT INTO lockguard.operations (key, completed_at, result) VALUES ('transfer:10', now(), '{"transfer_id": 10}');
});
my @v10_before = map { (1 << 47) + $_ } 1 .. 30;
$rows = table_rows($old);
my $v10 = upgrade($old, 'v10_new');
is($v10->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'lockguard'"),
	'1.0', 'never promoted: pg_upgrade keeps the extension at 1.0');
my ($update_rc, $update_out, $update_err) = $v10->psql('postgres', 'ALTER EXTENSION lockguard UPDATE',
	on_error_stop => 1);
is($update_rc, 0, 'never promoted: ALTER EXTENSION lockguard UPDATE runs 1.0--1.1, 1.1--1.2, 1.2--1.3, 1.3--1.4, 1.4--1.5 and 1.5--1.6')
  or diag($update_err);
is($v10->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'lockguard'"),
	'1.6', 'never promoted: the extension is at 1.6');
check_rows_kept($v10, $rows, 'never promoted');
check_worker($v10, 'never promoted');
check_replay($v10, 'transfer:10', '{"transfer_id": 10}', 'never promoted');
check_tokens_above($v10, \@v10_before, 'ledger', 'never promoted, upgraded');
$v10->stop;

done_testing();
