# Every fixed-size part of lockguard's shared memory, at its limit (the settings made small):
# what a request needs room for is refused with a clear error whose hint names the setting to
# raise, and the backend and the others go on; what only records (statistics classes, the audit
# ring) degrades as documented instead of failing an acquisition.
use strict;
use warnings;

BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('limits');
$node->init;
# Every lockguard limit at its smallest, so that the test reaches each one; no worker (database '').
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'lockguard'
lockguard.database = ''
lockguard.max_tenants = 2
lockguard.max_tenant_roles = 2
lockguard.max_locks_per_backend = 8
lockguard.max_wait_classes = 16
lockguard.audit_buffer_size = 64
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION lockguard');

# Runs SQL that must fail; returns its stderr (verbose, so the SQLSTATE shows).
sub fails {
	my ($sql, $name) = @_;
	my ($rc, $stdout, $stderr) = $node->psql('postgres', $sql, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	isnt($rc, 0, "$name: refused");
	return $stderr;
}

# Tenants: lockguard.max_tenants rows, "default" included.
$node->safe_psql('postgres', "INSERT INTO lockguard.tenant_budgets (tenant) VALUES ('t1')");
my $err = fails("INSERT INTO lockguard.tenant_budgets (tenant) VALUES ('t2')", 'a third tenant');
like($err, qr/ERROR:  54000: too many lockguard tenants/, 'a third tenant: 54000, too many tenants');
like($err, qr/HINT:  Increase lockguard\.max_tenants/, 'a third tenant: the hint names lockguard.max_tenants');

# Tenant roles: lockguard.max_tenant_roles mappings.
$node->safe_psql('postgres', q{
CREATE ROLE r1; CREATE ROLE r2; CREATE ROLE r3;
INSERT INTO lockguard.tenant_roles VALUES ('r1', 't1'), ('r2', 't1');
});
$err = fails("INSERT INTO lockguard.tenant_roles VALUES ('r3', 't1')", 'a third role mapping');
like($err, qr/ERROR:  54000: too many lockguard tenant roles/, 'a third role mapping: 54000');
like($err, qr/HINT:  Increase lockguard\.max_tenant_roles/,
	'a third role mapping: the hint names lockguard.max_tenant_roles');

# Statistics classes: lockguard.max_wait_classes rows, then "(other)"; acquisitions never fail.
is( $node->safe_psql('postgres', q{
BEGIN;
SELECT count(lockguard_acquire('class' || g || ':x')) FROM generate_series(1, 8) g;
COMMIT;
BEGIN;
SELECT count(lockguard_acquire('class' || g || ':x')) FROM generate_series(9, 16) g;
COMMIT;
BEGIN;
SELECT count(lockguard_acquire('class' || g || ':x')) FROM generate_series(17, 24) g;
COMMIT;
SELECT count(*) FILTER (WHERE resource_class <> '(other)') || ' ' || coalesce(sum(acquisitions) FILTER (WHERE resource_class = '(other)'), 0)
FROM lockguard.wait_stats;
}),
	"8\n8\n8\n16 8",
	'24 classes with room for 16: the first 16 are counted apart, the other 8 under (other)');

# Locks per backend: lockguard.max_locks_per_backend, one at a time or in one call.
$err = fails(q{
BEGIN;
SELECT lockguard_acquire('lock:' || g) FROM generate_series(1, 9) g;
}, 'a ninth lock in one transaction');
like($err, qr/ERROR:  53200: too many lockguard locks in one transaction/, 'a ninth lock: 53200');
like($err, qr/HINT:  Increase lockguard\.max_locks_per_backend/,
	'a ninth lock: the hint names lockguard.max_locks_per_backend');
$err = fails(q{
BEGIN;
SELECT lockguard_acquire_all(ARRAY(SELECT lockguard.named_lock('all:' || g) FROM generate_series(1, 9) g));
}, 'nine locks in one call');
like($err, qr/ERROR:  54000: too many lock requests in one call: 9/, 'nine locks in one call: 54000');
like($err, qr/HINT:  Increase lockguard\.max_locks_per_backend/,
	'nine locks in one call: the hint names lockguard.max_locks_per_backend');

# The limit is per backend: one session holding eight leaves room for another's eight, and a
# session that hit the limit takes eight again after its rollback.
my $full = $node->background_psql('postgres');
$full->query_safe("BEGIN; SELECT count(lockguard_acquire('full:' || g)) FROM generate_series(1, 8) g");
is( $node->safe_psql('postgres', q{
BEGIN;
SELECT count(lockguard_acquire('other:' || g)) FROM generate_series(1, 8) g;
SELECT count(*) FROM lockguard.locks WHERE granted;
COMMIT;
}),
	"8\n16",
	'another session takes its own eight locks while the first holds eight');
is( $full->query_safe(q{
ROLLBACK;
BEGIN;
SELECT count(lockguard_acquire('again:' || g)) FROM generate_series(1, 8) g;
ROLLBACK;
}),
	'8', 'after its rollback the session takes eight again');

# Waiters have no limit of their own: each waits in its own backend's slot.
$full->query_safe("BEGIN; SELECT lockguard_acquire('hot')");
my @waiters;
for my $i (1 .. 5) {
	my $w = $node->background_psql('postgres');
	$w->query_until(qr/start/,
		"\\echo start\nBEGIN; SELECT lockguard_acquire('hot', timeout_ms => 60000); COMMIT;\n");
	push @waiters, $w;
}
ok($node->poll_query_until('postgres', "SELECT count(*) = 5 FROM lockguard.locks WHERE resource = 'hot' AND NOT granted"),
	'five sessions wait on one resource');
$full->query_safe('COMMIT');
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM lockguard.locks WHERE resource = 'hot' AND NOT granted"),
	'each waiter is granted in turn');
$_->quit for @waiters;

# The audit ring: lockguard.audit_buffer_size entries; older ones are overwritten (a gap in
# seq shows it) and acquisitions go on.
$full->query_safe("BEGIN; SELECT lockguard_acquire('audited')");
my $seq_before = $node->safe_psql('postgres', 'SELECT coalesce(max(seq), 0) FROM lockguard._audit_buffer()');
is( $node->safe_psql('postgres', qq{
DO \$\$
BEGIN
    FOR i IN 1 .. 100 LOOP
        BEGIN
            PERFORM lockguard_acquire('audited', timeout_ms => 0);
        EXCEPTION WHEN lock_not_available THEN NULL;
        END;
    END LOOP;
END \$\$;
SELECT count(*) || ' ' || min(seq) - $seq_before || ' ' || max(seq) - $seq_before
FROM lockguard.audit WHERE resource = 'audited';
}),
	'64 37 100',
	'100 timeouts with room for 64: the newest 64 are kept, seq 1 to 36 are missing');
$full->query_safe('ROLLBACK');

# Tenants replaced while their sessions still hold locks keep their entries until those drain:
# room for twice lockguard.max_tenants, then a warning naming the setting (the new tenant counts
# against "default" meanwhile).
my @holders;
my $previous = 't1';
for my $k (2 .. 5) {
	$node->safe_psql('postgres', qq{
BEGIN;
DELETE FROM lockguard.tenant_roles;
DELETE FROM lockguard.tenant_budgets WHERE tenant = '$previous';
INSERT INTO lockguard.tenant_budgets (tenant) VALUES ('t$k');
COMMIT;
});
	my $h = $node->background_psql('postgres');
	$h->query_safe("SET lockguard.tenant = 't$k'; BEGIN; SELECT lockguard_acquire('drain:$k')");
	push @holders, $h;
	$previous = "t$k";
}
is($node->safe_psql('postgres', "SELECT string_agg(tenant || '=' || held_now, ' ' ORDER BY tenant) FROM lockguard.tenants"),
	'default=0 t2=1 t3=1 t4=1 t5=1', 'four replaced tenants still hold a lock each');
$node->safe_psql('postgres', q{
BEGIN;
DELETE FROM lockguard.tenant_budgets WHERE tenant = 't5';
INSERT INTO lockguard.tenant_budgets (tenant) VALUES ('t6');
COMMIT;
});
my ($rc, $out, $stderr) = $node->psql('postgres', 'SELECT count(*) FROM lockguard.tenants',
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($stderr, qr/WARNING:  54000: no room in shared memory for 1 lockguard tenant\(s\)/,
	'no room for a sixth tenant: a warning');
like($stderr, qr/DETAIL:  Tenant "t6" counts against "default"/, 'the warning names the tenant');
like($stderr, qr/HINT:  Increase lockguard\.max_tenants/, 'the warning names lockguard.max_tenants');
$_->query_safe('ROLLBACK') for @holders;
$_->quit for @holders;
$node->safe_psql('postgres', "UPDATE lockguard.tenant_budgets SET max_held = 1 WHERE tenant = 't6'");
is($node->safe_psql('postgres', "SELECT string_agg(tenant, ' ' ORDER BY tenant) FROM lockguard.tenants"),
	'default t6', 'once the old tenants drained, the new one has its entry');

$full->quit;
$node->stop;
done_testing();
