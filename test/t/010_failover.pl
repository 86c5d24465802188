# Failover: a primary and a synchronous standby, a client running a stream of transfers (each
# under a run-once key and a fencing token, in one transaction), the primary stopped in
# immediate mode mid-stream, the standby promoted, and the client retrying every operation it
# has no acknowledgement for through a multi-host connection string with
# target_session_attrs=read-write. Then: every acknowledged operation is there exactly once, no
# operation ran twice, balances add up, tokens issued after the promotion are above every token
# issued before (and above every token the old primary issues if it comes back), a write with a
# pre-failover token is rejected with LG003, and lockguard starts empty and works on the new
# primary.
use strict;
use warnings;

# PostgreSQL::Test::Utils creates $TESTDIR/tmp_check at start-up but not $TESTDIR itself.
BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use FindBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $accounts = 4;
my $initial_balance = 1000;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'lockguard'\n");
$primary->start;

$primary->safe_psql('postgres', 'CREATE EXTENSION lockguard');
# The bank: the fixture the Patroni scenario (test/patroni/scenario.py) sets up too.
$primary->safe_psql('postgres', slurp_file("$FindBin::RealBin/../fixtures/failover.sql"),
	extra_params => [ '-v', "accounts=$accounts", '-v', "initial_balance=$initial_balance" ]);

# Does a lockguard background worker run here? (Checked again on the new primary.)
my $worker_query =
  "SELECT count(*) FROM pg_stat_activity WHERE backend_type ILIKE '%lockguard%'";

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
# Once promoted, this server has no standby of its own: it must not wait for one.
$standby->append_conf('postgresql.conf', "synchronous_standby_names = ''\n");
$standby->start;
# Synchronous from now on: a commit is acknowledged once the standby has flushed it. (Set
# only now: with no standby connected, every commit would wait.)
$primary->append_conf('postgresql.conf', "synchronous_standby_names = '*'\nsynchronous_commit = on\n");
$primary->reload;
$primary->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_replication WHERE sync_state = 'sync'")
  or die "the standby never became synchronous";

like($standby->safe_psql('postgres', "SHOW shared_preload_libraries"),
	qr/lockguard/, 'the standby preloads lockguard');

# The client: always the same multi-host connection string; it lands on whichever server
# accepts writes.
my $client_connstr = sprintf(
	'host=%s,%s port=%s,%s dbname=postgres target_session_attrs=read-write connect_timeout=3',
	$primary->host, $standby->host, $primary->port, $standby->port);
my $psql = $primary->installed_command('psql');

# Runs SQL through the client connection: returns (ok, stdout, sqlstate or 'connection').
sub client_sql
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	my $success = IPC::Run::run([ $psql, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose',
			'-d', $client_connstr, '-c', $sql ],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return (1, $out, undef) if $success;
	my ($sqlstate) = $err =~ /(?:ERROR|FATAL):  ([0-9A-Z]{5}):/;
	return (0, $out, $sqlstate // 'connection', $err);
}

# What the client retries: a lost or refused connection, and the SQLSTATEs of docs/failover.md.
my %retryable = map { $_ => 1 } qw(connection 40001 40P01 55P03 25006 57P01 57P02 57P03);

sub transfer_args
{
	my ($i) = @_;
	return (($i % $accounts) + 1, (($i + 1) % $accounts) + 1, $i);
}

sub transfer_sql
{
	my ($i) = @_;
	my ($src, $dst, $amount) = transfer_args($i);
	return "SELECT transfer('op-$i', $src, $dst, $amount)";
}

# One attempt; returns (acknowledged, token, replayed, sqlstate).
sub attempt_transfer
{
	my ($i) = @_;
	my ($ok, $out, $sqlstate) = client_sql(transfer_sql($i));
	return (0, undef, undef, $sqlstate) unless $ok;
	my ($token) = $out =~ /"token": (\d+)/;
	my $replayed = $out =~ /"replayed": true/ ? 1 : 0;
	return (1, $token, $replayed, undef);
}

# The client's retry loop: retry what is retryable, give up on anything else.
sub transfer_with_retries
{
	my ($i) = @_;
	for my $attempt (1 .. 120)
	{
		my ($acked, $token, $replayed, $sqlstate) = attempt_transfer($i);
		return ($token, $replayed) if $acked;
		die "op-$i failed with $sqlstate, which is not retryable" unless $retryable{$sqlstate};
		usleep(250_000);
	}
	die "op-$i was never acknowledged";
}

my %acked;          # op number => token the client was told
my %replayed;       # op number => 1 when the acknowledgement said "already done"
my @pre_failover_tokens;

# 1. The stream, acknowledged one by one.
for my $i (1 .. 30)
{
	my ($token, $replayed) = transfer_with_retries($i);
	$acked{$i} = $token;
	push @pre_failover_tokens, $token;
}
is(scalar(keys %acked), 30, 'before the failover: 30 transfers acknowledged');

# 2. op-31 commits, but its acknowledgement is lost on the way to the client.
my ($lost_ok, $lost_out) = client_sql(transfer_sql(31));
ok($lost_ok, 'op-31 committed on the primary (its acknowledgement is then lost)');
my ($lost_token) = $lost_out =~ /"token": (\d+)/;
push @pre_failover_tokens, $lost_token;

# 3. op-32 is in flight when the primary dies: claimed, locked, token issued and money moved,
# not committed.
my $in_flight = $primary->background_psql('postgres');
$in_flight->query_safe('BEGIN');
my $in_flight_out = $in_flight->query_safe(transfer_sql(32));
my ($in_flight_token) = $in_flight_out =~ /"token": (\d+)/;
ok($in_flight_token, 'op-32 in flight holds a token issued on the old primary');
push @pre_failover_tokens, $in_flight_token;
is($primary->safe_psql('postgres', "SELECT resource FROM lockguard.locks"),
	'bank', 'op-32 holds the lockguard lock on the old primary');

# A standby refuses the whole transfer with 25006, which the client retries.
my ($standby_rc, $standby_out, $standby_err) = $standby->psql('postgres', transfer_sql(99),
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($standby_err, qr/ERROR:  25006: cannot execute lockguard\.claim_operation\(\) on a standby server/,
	'a standby refuses a claim with 25006');
($standby_rc, $standby_out, $standby_err) = $standby->psql('postgres',
	"SELECT lockguard.fencing_token('bank')", extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($standby_err, qr/ERROR:  25006: cannot execute lockguard\.fencing_token\(\) on a standby server/,
	'a standby refuses to issue fencing tokens with 25006');

# Whether lockguard has a background worker (it may start a moment after CREATE EXTENSION).
my $workers_on_primary = 0;
for (1 .. 20)
{
	$workers_on_primary = $primary->safe_psql('postgres', $worker_query);
	last if $workers_on_primary > 0;
	usleep(250_000);
}
note "lockguard background workers on the primary: $workers_on_primary";

# 4. The primary dies.
$primary->stop('immediate');
eval { $in_flight->quit; };

# Between the crash and the promotion, no server accepts writes: the client cannot connect.
my ($none_acked, undef, undef, $none_state) = attempt_transfer(33);
ok(!$none_acked && $none_state eq 'connection',
	'with the primary gone and the standby not promoted, the client gets no read-write connection');

# 5. Promotion.
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die "the standby was not promoted";
my $new_primary = $standby;

# lockguard's shared memory started empty on the new primary: the lock op-32 held on the old
# primary is gone with it, and nothing stale is honoured.
is($new_primary->safe_psql('postgres', 'SELECT count(*) FROM lockguard.locks'),
	'0', 'new primary: lockguard.locks is empty');
is($new_primary->safe_psql('postgres',
		"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid IN (19527, 19528, 19529)"),
	'0', 'new primary: nothing in lockguard\'s lock key space');

# 6. The client retries everything it has no acknowledgement for (31, 32, 33), then goes on.
my @post_failover_tokens;
for my $i (31 .. 40)
{
	my ($token, $replayed) = transfer_with_retries($i);
	$acked{$i} = $token;
	$replayed{$i} = $replayed;
	push @post_failover_tokens, $token unless $replayed;
}
is(scalar(keys %acked), 40, 'after the failover: all 40 transfers acknowledged');
ok($replayed{31}, 'op-31 (committed, acknowledgement lost) is replayed as already done');
is($acked{31}, $lost_token, 'op-31\'s replay returns the result recorded with it');
ok(!$replayed{32}, 'op-32 (in flight at the crash) runs on the new primary');
is(join(',', grep { $replayed{$_} } sort { $a <=> $b } keys %replayed), '31',
	'only op-31 was already done');

# 7. Exactly once.
is($new_primary->safe_psql('postgres',
		"SELECT count(*) || '/' || count(DISTINCT key) FROM transfer_log"),
	'40/40', 'transfer_log: 40 transfers, none twice');
my @missing = grep {
	$new_primary->safe_psql('postgres', "SELECT count(*) FROM transfer_log WHERE key = 'op-$_'") ne '1'
} sort { $a <=> $b } keys %acked;
is_deeply(\@missing, [], 'every acknowledged transfer is present exactly once');
is($new_primary->safe_psql('postgres',
		"SELECT count(*) FROM transfer_log t JOIN lockguard.operations o ON o.key = t.key "
		  . "WHERE o.completed_at IS NOT NULL AND (o.result->>'token')::bigint = t.token"),
	'40', 'every transfer is a completed operation with its token as result');
my $acked_tokens_match = 1;
for my $i (sort { $a <=> $b } keys %acked)
{
	$acked_tokens_match = 0
	  if $new_primary->safe_psql('postgres', "SELECT token FROM transfer_log WHERE key = 'op-$i'") ne $acked{$i};
}
ok($acked_tokens_match, 'every acknowledgement carried the token of the transfer that was kept');

# 8. Balances add up.
is($new_primary->safe_psql('postgres', 'SELECT sum(balance) FROM accounts'),
	$accounts * $initial_balance, 'the total balance is unchanged');
is($new_primary->safe_psql('postgres', qq{
SELECT count(*) FROM accounts a
WHERE a.balance <> $initial_balance
    - coalesce((SELECT sum(amount) FROM transfer_log WHERE src = a.id), 0)
    + coalesce((SELECT sum(amount) FROM transfer_log WHERE dst = a.id), 0)}),
	'0', 'every balance is the initial balance plus the logged transfers');

# 9. Tokens: after the promotion above every token before.
my ($max_before) = sort { $b <=> $a } @pre_failover_tokens;
my ($min_after) = sort { $a <=> $b } @post_failover_tokens;
cmp_ok($min_after, '>', $max_before,
	'the smallest token issued after the promotion is above every token issued before');
is($new_primary->safe_psql('postgres',
		"SELECT (SELECT timeline FROM lockguard.fencing_token_parts($max_before)) || ',' "
		  . "|| (SELECT timeline FROM lockguard.fencing_token_parts($min_after))"),
	'1,2', 'tokens before carry timeline 1, after the promotion timeline 2');

# A write carrying a pre-failover token is rejected on the new primary: a zombie of op-32
# (the holder on the old primary) trying to finish its write.
my ($zombie_rc, $zombie_out, $zombie_err) = $new_primary->psql('postgres',
	"UPDATE accounts SET balance = balance + 1000000, token = $in_flight_token WHERE id = 1",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($zombie_err, qr/ERROR:  LG003: stale fencing token for resource "bank"/,
	'new primary: a write with a pre-failover token is rejected with LG003');
like($zombie_err, qr/DETAIL:  Token $in_flight_token is older than token \d+/,
	'the rejection names both tokens');
($zombie_rc, $zombie_out, $zombie_err) = $new_primary->psql('postgres',
	"SELECT lockguard.check_fencing_token('bank', $max_before)",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($zombie_err, qr/ERROR:  LG003:/, 'new primary: check_fencing_token rejects the newest pre-failover token');

# The old primary comes back on its own (split brain: nobody told it) and keeps issuing
# tokens; its counter runs far beyond the new primary's, its tokens stay below.
$primary->append_conf('postgresql.conf', "synchronous_standby_names = ''\n");
$primary->start;
my $zombie_max = $primary->safe_psql('postgres',
	"SELECT max(lockguard.fencing_token('bank')) FROM generate_series(1, 500)");
my $new_token = $new_primary->safe_psql('postgres', "SELECT lockguard.fencing_token('bank')");
cmp_ok($new_token, '>', $zombie_max, 'a token of the new primary is above every token of the revived old primary');
is($new_primary->safe_psql('postgres',
		"SELECT (SELECT counter FROM lockguard.fencing_token_parts($zombie_max)) > "
		  . "(SELECT counter FROM lockguard.fencing_token_parts($new_token))"),
	't', 'although the old primary\'s counter is ahead: the timeline orders them');
($zombie_rc, $zombie_out, $zombie_err) = $new_primary->psql('postgres',
	"SELECT lockguard.check_fencing_token('bank', $zombie_max)",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($zombie_err, qr/ERROR:  LG003:/, 'new primary: a token of the revived old primary is rejected');
$primary->stop('immediate');

# 10. lockguard works on the new primary: acquire, view, wait with a timeout.
like($new_primary->safe_psql('postgres', q{
BEGIN;
SELECT lockguard_acquire('bank', timeout_ms => 0);
SELECT resource || ':' || granted FROM lockguard.locks;
COMMIT;
}),
	qr/^\s*bank:true$/, 'new primary: lockguard_acquire works and shows in lockguard.locks');
my $holder = $new_primary->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe("SELECT lockguard_acquire('bank')");
my ($wait_rc, $wait_out, $wait_err) = $new_primary->psql('postgres',
	"BEGIN; SELECT lockguard_acquire('bank', timeout_ms => 100);",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($wait_err, qr/ERROR:  55P03: could not obtain lockguard named lock on "bank" within \d+ ms/,
	'new primary: a waiter times out with 55P03 while the lock is held');
$holder->query_safe('COMMIT');
$holder->quit;
is($new_primary->safe_psql('postgres', 'SELECT count(*) FROM lockguard.locks'), '0',
	'new primary: no lock left');

# 11. The background worker, if lockguard has one, runs on the new primary.
SKIP:
{
	skip 'no lockguard background worker ran on the primary', 1 unless $workers_on_primary > 0;
	ok($new_primary->poll_query_until('postgres', "SELECT ($worker_query) > 0"),
		'new primary: the lockguard background worker runs');
}

$new_primary->stop;
done_testing();
