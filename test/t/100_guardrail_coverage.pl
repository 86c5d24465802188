# Guardrails without bypass, generated: every statement that locks a protected relation, run
# against a protected table, a partitioned table, one of its partitions (one created with the
# table, one attached after the policy), an inheritance child, a typed table and a foreign table.
#
# The statement list is built per kind of object. ALTER TABLE subcommands are checked against the
# AlterTableType values of the server under test (read from its headers): a value this file does
# not classify fails the test, so a new major version cannot add an unguarded subcommand silently.
#
# Phases, each in a fresh psql run:
#  1. oracle: policies disabled, each statement that may run in a transaction block runs in one
#     and pg_locks tells which modes it really took on the protected relations, their partitions,
#     children and indexes. The mode this file declares must be the strongest one seen, so the
#     table in docs/guardrails.md (generated from this list) says what the server does.
#  2. guarded: a second session holds ROW EXCLUSIVE on every table (and its indexes); each
#     statement whose mode the default policy forbids must fail with LG004 plainly and inside a
#     function, a procedure, a DO block and EXECUTE, without ever waiting: a third session polls
#     pg_locks for waiters of the statement session all along, the statement session has a short
#     lock_timeout (a miss fails with 55P03 instead of hanging) and log_lock_waits.
#  3. the same with SHARE UPDATE EXCLUSIVE forbidden too, for the statements that take only that.
#  4. allowed: without a holder, each statement whose mode the policy permits succeeds, and an
#     exempt role (the owner) runs every forbidden statement successfully.
#
# docs/guardrails.md's "what is caught" table must equal the one generated here (between the
# markers); LG_GUARDRAILS_DOC=path writes the generated table into that file instead.
use strict;
use warnings;

BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use LgDeployment;
use Time::HiRes qw(time);

my $started = time;

# ---- Lock modes ------------------------------------------------------------------------------
my @MODES = ('ACCESS SHARE', 'ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE',
	'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE');
my %RANK = map { $MODES[$_] => $_ + 1 } 0 .. $#MODES;
my %SHORT = (AS => 'ACCESS SHARE', RS => 'ROW SHARE', RE => 'ROW EXCLUSIVE', SUE => 'SHARE UPDATE EXCLUSIVE',
	S => 'SHARE', SRE => 'SHARE ROW EXCLUSIVE', E => 'EXCLUSIVE', AEL => 'ACCESS EXCLUSIVE', none => 'none');
sub pg_mode_name { my $m = shift; $m =~ s/Lock$//; $m =~ s/([a-z])([A-Z])/$1 $2/g; return uc $m; }

# The default policy forbids every mode that blocks writers (SHARE and above); phase 3 adds
# SHARE UPDATE EXCLUSIVE.
my $DEFAULT_MIN = $RANK{'SHARE'};
my $SUE_MIN = $RANK{'SHARE UPDATE EXCLUSIVE'};

# ---- Targets: the protected relations and their names in the fixture -------------------------
# it: ordinary table; pt: partitioned; pt_1: its partition; pt_late: a partition attached after
# the policy existed; it_c: an inheritance child of it; tt: a typed table; tu: a table made typed
# by ALTER TABLE ... OF; ft: a foreign table; mv: a materialized view.
my %T = (
	it      => { dom => 'it_dom', oth => 'it_oth', ref => 'it_ref', idx => 'it_pkey', own => 'x', chk => 'it_chk',
		nv => 'it_nv', fk => 'it_o_fk', ts => 'it_ts', its => 'it_its', trg => 'it_trg', rule => 'it_rule',
		pol => 'it_pol', stat => 'it_stat', pub => 'it_pub', uidx => 'it_u', kidx => 'it_k_idx' },
	pt      => { dom => 'pt_dom', oth => 'pt_oth', ref => 'pt_ref', idx => 'pt_pkey', own => 'x', chk => 'pt_chk',
		nv => 'pt_nv', fk => 'pt_o_fk', ts => 'pt_ts', trg => 'pt_trg', pol => 'pt_pol', stat => 'pt_stat',
		pub => 'pt_pub', kidx => 'pt_k_idx' },
	pt_1    => { dom => 'pt_dom', oth => 'pt_oth', ref => 'pt_1_ref', idx => 'pt_1_pkey', chk => 'pt_1_chk',
		nv => 'pt_1_nv', ts => 'pt_1_ts', its => 'pt_1_its', trg => 'pt_1_trg', rule => 'pt_1_rule',
		pol => 'pt_1_pol', stat => 'pt_1_stat', pub => 'pt_1_pub', kidx => 'pt_1_own' },
	pt_late => { idx => 'pt_late_pkey' },
	it_c    => { dom => 'it_c_dom', oth => 'it_c_oth', ref => 'it_c_ref', idx => 'it_c_id_key', own => 'y',
		chk => 'it_c_chk', nv => 'it_c_nv', fk => 'it_c_co_fk', ts => 'it_c_ts', its => 'it_c_its', trg => 'it_c_trg',
		rule => 'it_c_rule', pol => 'it_c_pol', stat => 'it_c_stat', pub => 'it_c_pub', uidx => 'it_c_u',
		kidx => 'it_c_k_idx' },
	tt      => { trg => 'tt_trg' },
	tu      => {},
	ft      => {},
	mv      => {},);
my @ALL4 = qw(it pt pt_1 it_c);
my @LEAF3 = qw(it pt_1 it_c);    # tables with storage of their own

# ---- ALTER TABLE subcommands: every AlterTableType value of PostgreSQL 15, 17 and 18 ------------
# [ subcommand as written, declared mode, targets ] or 'internal: why no statement reaches it'.
my %AT = (
	AT_AddColumn                 => [ 'ADD COLUMN z int', 'AEL', [qw(it pt it_c)] ],
	AT_AddColumnRecurse          => 'internal: ALTER TABLE recursing into children',
	AT_AddColumnToView           => 'internal: CREATE OR REPLACE VIEW on a view',
	AT_ColumnDefault             => [ 'ALTER COLUMN k SET DEFAULT 1', 'AEL', \@ALL4 ],
	AT_CookedColumnDefault       => 'internal: defaults already transformed by CREATE TABLE',
	AT_DropNotNull               => [ 'ALTER COLUMN x DROP NOT NULL', 'AEL', \@ALL4 ],
	AT_SetNotNull                => [ 'ALTER COLUMN x SET NOT NULL', 'AEL', \@ALL4 ],
	AT_DropExpression            => [ 'ALTER COLUMN g DROP EXPRESSION', 'AEL', [qw(it pt)] ],
	AT_SetExpression             => [ 'ALTER COLUMN g SET EXPRESSION AS (id * 3)', 'AEL', [qw(it pt)] ],
	AT_CheckNotNull              => 'internal: ALTER TABLE recursing into partitions',
	AT_SetStatistics             => [ 'ALTER COLUMN k SET STATISTICS 100', 'SUE', \@ALL4 ],
	AT_SetOptions                => [ 'ALTER COLUMN k SET (n_distinct = 10)', 'SUE', \@ALL4 ],
	AT_ResetOptions              => [ 'ALTER COLUMN k RESET (n_distinct)', 'SUE', \@ALL4 ],
	AT_SetStorage                => [ 'ALTER COLUMN s SET STORAGE MAIN', 'AEL', \@ALL4 ],
	AT_SetCompression            => [ 'ALTER COLUMN s SET COMPRESSION pglz', 'AEL', \@ALL4 ],
	AT_DropColumn                => [ 'DROP COLUMN {own}', 'AEL', [qw(it pt it_c)] ],
	AT_DropColumnRecurse         => 'internal: ALTER TABLE recursing into children',
	AT_AddIndex                  => 'internal: ADD PRIMARY KEY/UNIQUE after transformation (generated as AT_AddConstraint)',
	AT_ReAddIndex                => 'internal: rebuilding an index after ALTER COLUMN TYPE',
	AT_AddConstraint             => [ 'ADD CONSTRAINT z_chk CHECK (k > -1) NOT VALID', 'AEL', \@ALL4 ],
	AT_AddConstraintRecurse      => 'internal: ALTER TABLE recursing into children',
	AT_ReAddConstraint           => 'internal: rebuilding a constraint after ALTER COLUMN TYPE',
	AT_ReAddDomainConstraint     => 'internal: rebuilding a domain constraint after ALTER DOMAIN',
	AT_AlterConstraint           => [ 'ALTER CONSTRAINT {fk} DEFERRABLE', 'AEL', [qw(it pt it_c)] ],
	AT_ValidateConstraint        => [ 'VALIDATE CONSTRAINT {nv}', 'SUE', \@ALL4 ],
	AT_ValidateConstraintRecurse => 'internal: ALTER TABLE recursing into children',
	AT_AddIndexConstraint        => [ 'ADD CONSTRAINT z_u UNIQUE USING INDEX {uidx}', 'AEL', [qw(it it_c)] ],
	AT_DropConstraint            => [ 'DROP CONSTRAINT {chk}', 'AEL', \@ALL4 ],
	AT_DropConstraintRecurse     => 'internal: ALTER TABLE recursing into children',
	AT_ReAddComment              => 'internal: restoring a comment after ALTER COLUMN TYPE',
	AT_AlterColumnType           => [ 'ALTER COLUMN {own} TYPE bigint', 'AEL', [qw(it pt it_c)] ],
	AT_AlterColumnGenericOptions => [ 'ALTER COLUMN a OPTIONS (ADD o \'v\')', 'AEL', ['ft'], 'the foreign table' ],
	AT_ChangeOwner               => [ 'OWNER TO lg_migrator', 'AEL', \@ALL4 ],
	AT_ClusterOn                 => [ 'CLUSTER ON {idx}', 'SUE', \@LEAF3 ],
	AT_DropCluster               => [ 'SET WITHOUT CLUSTER', 'SUE', \@LEAF3 ],
	AT_SetLogged                 => [ 'SET LOGGED', 'AEL', \@LEAF3 ],
	AT_SetUnLogged               => [ 'SET UNLOGGED', 'AEL', ['tt'] ],
	AT_DropOids                  => [ 'SET WITHOUT OIDS', 'AEL', \@ALL4 ],
	AT_SetAccessMethod           => [ 'SET ACCESS METHOD heap', 'AEL', \@LEAF3 ],
	AT_SetTableSpace             => [ 'SET TABLESPACE pg_default', 'AEL', \@LEAF3 ],
	AT_SetRelOptions             => [ 'SET (fillfactor = 90)', 'SUE', \@LEAF3 ],
	AT_ResetRelOptions           => [ 'RESET (fillfactor)', 'SUE', \@LEAF3 ],
	AT_ReplaceRelOptions         => 'internal: CREATE OR REPLACE VIEW replacing a view\'s options',
	AT_EnableTrig                => [ 'ENABLE TRIGGER {trg}', 'SRE', \@ALL4 ],
	AT_EnableAlwaysTrig          => [ 'ENABLE ALWAYS TRIGGER {trg}', 'SRE', \@ALL4 ],
	AT_EnableReplicaTrig         => [ 'ENABLE REPLICA TRIGGER {trg}', 'SRE', \@ALL4 ],
	AT_DisableTrig               => [ 'DISABLE TRIGGER {trg}', 'SRE', \@ALL4 ],
	AT_EnableTrigAll             => [ 'ENABLE TRIGGER ALL', 'SRE', ['tt'] ],
	AT_DisableTrigAll            => [ 'DISABLE TRIGGER ALL', 'SRE', ['tt'] ],
	AT_EnableTrigUser            => [ 'ENABLE TRIGGER USER', 'SRE', \@ALL4 ],
	AT_DisableTrigUser           => [ 'DISABLE TRIGGER USER', 'SRE', \@ALL4 ],
	AT_EnableRule                => [ 'ENABLE RULE {rule}', 'AEL', \@LEAF3 ],
	AT_EnableAlwaysRule          => [ 'ENABLE ALWAYS RULE {rule}', 'AEL', \@LEAF3 ],
	AT_EnableReplicaRule         => [ 'ENABLE REPLICA RULE {rule}', 'AEL', \@LEAF3 ],
	AT_DisableRule               => [ 'DISABLE RULE {rule}', 'AEL', \@LEAF3 ],
	AT_AddInherit                => [ 'INHERIT cov_parent2', 'AEL', [qw(it it_c)] ],
	AT_DropInherit               => [ 'NO INHERIT it', 'AEL', ['it_c'] ],
	AT_AddOf                     => [ 'OF tt_type', 'AEL', ['tu'] ],
	AT_DropOf                    => [ 'NOT OF', 'AEL', ['tt'] ],
	AT_ReplicaIdentity           => [ 'REPLICA IDENTITY FULL', 'AEL', \@ALL4 ],
	AT_EnableRowSecurity         => [ 'ENABLE ROW LEVEL SECURITY', 'AEL', \@ALL4 ],
	AT_DisableRowSecurity        => [ 'DISABLE ROW LEVEL SECURITY', 'AEL', \@ALL4 ],
	AT_ForceRowSecurity          => [ 'FORCE ROW LEVEL SECURITY', 'AEL', \@ALL4 ],
	AT_NoForceRowSecurity        => [ 'NO FORCE ROW LEVEL SECURITY', 'AEL', \@ALL4 ],
	AT_GenericOptions            => [ 'OPTIONS (ADD o \'v\')', 'AEL', ['ft'], 'the foreign table' ],
	AT_AttachPartition           => [ 'ATTACH PARTITION pt_att FOR VALUES FROM (5000) TO (6000)', 'AEL', ['pt'],
		'the default partition and the table attached (the parent: SHARE UPDATE EXCLUSIVE)' ],
	AT_DetachPartition           => [ 'DETACH PARTITION pt_1', 'AEL', ['pt'], 'the parent, the partition and the default partition' ],
	AT_DetachPartitionFinalize   => 'internal: completes an interrupted DETACH ... CONCURRENTLY; checked like DETACH (ACCESS EXCLUSIVE on the partition) but not generated: it needs a cancelled concurrent detach',
	AT_AddIdentity               => [ 'ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY', 'AEL', ['tu'] ],
	AT_SetIdentity               => [ 'ALTER COLUMN idn SET INCREMENT BY 2', 'AEL', ['it'] ],
	AT_DropIdentity              => [ 'ALTER COLUMN idn DROP IDENTITY', 'AEL', ['it'] ],
	AT_ReAddStatistics           => 'internal: rebuilding statistics objects after ALTER COLUMN TYPE',);

# Values that exist only on some majors: [first, last] (undef: open). A value outside the server's
# range is neither generated nor expected on it; the docs table lists it with its majors.
# 16 removed the *Recurse values (recursion became a flag of the command);
# 17 added ALTER COLUMN ... SET EXPRESSION AS; 18 removed AT_CheckNotNull (NOT NULL became a
# catalogued constraint).
my %AT_MAJORS = (
	(map { $_ => [ undef, 15 ] } qw(AT_AddColumnRecurse AT_DropColumnRecurse AT_AddConstraintRecurse
		  AT_ValidateConstraintRecurse AT_DropConstraintRecurse)),
	AT_SetExpression => [ 17, undef ],
	AT_CheckNotNull  => [ undef, 17 ],);
my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
my ($pg_major) = `$pg_config --version` =~ /PostgreSQL (\d+)/ or die "no major in $pg_config --version";
sub at_on_server
{
	my ($first, $last) = @{ $AT_MAJORS{ $_[0] } // [] };
	return (!defined $first || $pg_major >= $first) && (!defined $last || $pg_major <= $last);
}

# ---- Every other statement, per kind of object -----------------------------------------------
# { kind, doc (the statement's shape in the docs), sql ({T} and the target's fixture names),
#   mode (declared strongest mode on a protected relation), on (which protected relation, for
#   the docs), targets, notxn (cannot run in a transaction block), undo (after a successful
#   run outside a transaction block), exempt => 0 (not run by the exempt role) }
my @CASES;
sub add_case { push @CASES, {@_}; }

for my $mode (@MODES) {
	my ($short) = grep { $SHORT{$_} eq $mode } keys %SHORT;
	add_case(kind => 'table', doc => "LOCK TABLE ... IN $mode MODE", sql => "LOCK TABLE {T} IN $mode MODE",
		mode => $short, on => 'the table and its partitions and children (not with ONLY)',
		targets => [ @ALL4, 'pt_late' ]);
}
add_case(kind => 'table', doc => 'LOCK TABLE ONLY ...', sql => 'LOCK TABLE ONLY {T} IN SHARE MODE', mode => 'S',
	on => 'the table', targets => \@ALL4);
add_case(kind => 'view', doc => 'LOCK TABLE <view>', sql => 'LOCK TABLE {T}_v IN EXCLUSIVE MODE', mode => 'E',
	on => 'every table the view reads', targets => \@ALL4);
add_case(kind => 'table', doc => 'TRUNCATE', sql => 'TRUNCATE {T} CASCADE', mode => 'AEL',
	on => 'the table and its partitions and children', targets => [ qw(it pt_1 it_c pt_late) ]);
add_case(kind => 'table', doc => 'DROP TABLE', sql => 'DROP TABLE {T} CASCADE', mode => 'AEL',
	on => 'the table, its partitions, and for a partition its parent and the default partition',
	targets => [ @ALL4, 'pt_late' ]);
add_case(kind => 'table', doc => 'ALTER TABLE ... RENAME TO', sql => 'ALTER TABLE {T} RENAME TO z_renamed', mode => 'AEL',
	on => 'the table', targets => \@ALL4);
add_case(kind => 'table', doc => 'ALTER TABLE ... RENAME COLUMN', sql => 'ALTER TABLE {T} RENAME COLUMN {own} TO z_col',
	mode => 'AEL', on => 'the table and its children', targets => [qw(it pt it_c)]);
add_case(kind => 'table', doc => 'ALTER TABLE ... RENAME CONSTRAINT', sql => 'ALTER TABLE {T} RENAME CONSTRAINT {chk} TO z_chk2',
	mode => 'AEL', on => 'the table and its children', targets => \@ALL4);
add_case(kind => 'table', doc => 'ALTER TABLE ... SET SCHEMA', sql => 'ALTER TABLE {T} SET SCHEMA cov2', mode => 'AEL',
	on => 'the table', targets => \@LEAF3);
add_case(kind => 'table', doc => 'CLUSTER', sql => 'CLUSTER {T} USING {idx}', mode => 'AEL', on => 'the table',
	targets => [qw(it pt_1 it_c pt_late)]);
add_case(kind => 'table', doc => 'CLUSTER (partitioned table)', sql => 'CLUSTER {T} USING {idx}', mode => 'AEL',
	on => 'the table and its partitions', targets => ['pt'], notxn => 1);
add_case(kind => 'table', doc => 'CLUSTER (every table)', sql => 'CLUSTER', mode => 'AEL', on => 'every protected table',
	targets => ['it'], notxn => 1);
add_case(kind => 'table', doc => 'VACUUM FULL', sql => 'VACUUM FULL {T}', mode => 'AEL',
	on => 'the table and its partitions', targets => [ @ALL4, 'pt_late' ], notxn => 1);
add_case(kind => 'table', doc => 'VACUUM FULL (every table)', sql => 'VACUUM FULL', mode => 'AEL',
	on => 'every protected table', targets => ['it'], notxn => 1);
add_case(kind => 'table', doc => 'VACUUM', sql => 'VACUUM {T}', mode => 'SUE', on => 'the table and its partitions',
	targets => \@ALL4, notxn => 1);
add_case(kind => 'table', doc => 'ANALYZE', sql => 'ANALYZE {T}', mode => 'SUE', on => 'the table and its partitions',
	targets => \@ALL4);
add_case(kind => 'table', doc => 'COMMENT ON TABLE', sql => "COMMENT ON TABLE {T} IS 'z'", mode => 'SUE', on => 'the table',
	targets => \@ALL4);
add_case(kind => 'table', doc => 'COMMENT ON COLUMN', sql => "COMMENT ON COLUMN {T}.k IS 'z'", mode => 'SUE',
	on => 'the table', targets => \@ALL4);
add_case(kind => 'table', doc => 'CREATE TABLE ... INHERITS', sql => 'CREATE TABLE z_child () INHERITS ({T})', mode => 'SUE',
	on => 'the parent', targets => [qw(it it_c)]);
add_case(kind => 'table', doc => 'ALTER TABLE other INHERIT ...', sql => 'ALTER TABLE cov_orphan_{T} INHERIT {T}', mode => 'SUE',
	on => 'the new parent', targets => [qw(it it_c)]);
add_case(kind => 'materialized view', doc => 'REFRESH MATERIALIZED VIEW', sql => 'REFRESH MATERIALIZED VIEW {T}',
	mode => 'AEL', on => 'the materialized view', targets => ['mv']);
add_case(kind => 'materialized view', doc => 'REFRESH MATERIALIZED VIEW CONCURRENTLY',
	sql => 'REFRESH MATERIALIZED VIEW CONCURRENTLY {T}', mode => 'E', on => 'the materialized view', targets => ['mv']);
add_case(kind => 'partition', doc => 'CREATE TABLE ... PARTITION OF', sql => 'CREATE TABLE z_part PARTITION OF {T} FOR VALUES FROM (7000) TO (8000)',
	mode => 'AEL', on => 'the parent and its default partition', targets => ['pt']);
add_case(kind => 'index', doc => 'CREATE INDEX', sql => 'CREATE INDEX z_idx ON {T} (k)', mode => 'S',
	on => 'the table and its partitions (not with ONLY)', targets => [ @ALL4, 'pt_late' ]);
add_case(kind => 'index', doc => 'CREATE INDEX CONCURRENTLY', sql => 'CREATE INDEX CONCURRENTLY z_cidx ON {T} (k)', mode => 'SUE',
	on => 'the table', targets => \@LEAF3, notxn => 1, undo => 'DROP INDEX CONCURRENTLY z_cidx');
add_case(kind => 'index', doc => 'DROP INDEX', sql => 'DROP INDEX {kidx}', mode => 'AEL', on => "the index's table",
	targets => \@ALL4);
add_case(kind => 'index', doc => 'ALTER INDEX ... SET TABLESPACE', sql => 'ALTER INDEX {kidx} SET TABLESPACE pg_default',
	mode => 'AEL', on => "the index's table", targets => \@LEAF3);
add_case(kind => 'index', doc => 'ALTER INDEX ... SET (...)', sql => 'ALTER INDEX {kidx} SET (fillfactor = 80)',
	mode => 'SUE', on => "the index's table", targets => \@LEAF3);
add_case(kind => 'index', doc => 'ALTER INDEX ... RENAME', sql => 'ALTER INDEX {kidx} RENAME TO z_idx2', mode => 'SUE',
	on => "the index's table", targets => \@ALL4);
add_case(kind => 'index', doc => 'COMMENT ON INDEX', sql => "COMMENT ON INDEX {kidx} IS 'z'", mode => 'SUE',
	on => "the index's table", targets => \@ALL4);
add_case(kind => 'index', doc => 'REINDEX TABLE', sql => 'REINDEX TABLE {T}', mode => 'AEL',
	on => 'the table (SHARE) and its indexes (ACCESS EXCLUSIVE)', targets => \@LEAF3);
add_case(kind => 'index', doc => 'REINDEX TABLE (partitioned table)', sql => 'REINDEX TABLE {T}', mode => 'AEL',
	on => 'its partitions and their indexes', targets => ['pt'], notxn => 1);
add_case(kind => 'index', doc => 'REINDEX INDEX', sql => 'REINDEX INDEX {kidx}', mode => 'AEL', on => "the index's table",
	targets => \@LEAF3);
add_case(kind => 'index', doc => 'REINDEX ... CONCURRENTLY', sql => 'REINDEX TABLE CONCURRENTLY {T}', mode => 'SUE',
	on => 'the table and its indexes', targets => \@LEAF3, notxn => 1);
add_case(kind => 'index', doc => 'REINDEX SCHEMA', sql => 'REINDEX SCHEMA cov', mode => 'AEL',
	on => 'every protected table in the schema', targets => ['it'], notxn => 1);
add_case(kind => 'index', doc => 'REINDEX DATABASE', sql => 'REINDEX DATABASE postgres', mode => 'AEL',
	on => 'every protected table', targets => ['it'], notxn => 1, exempt => 0);
add_case(kind => 'constraint', doc => 'COMMENT ON CONSTRAINT', sql => "COMMENT ON CONSTRAINT {chk} ON {T} IS 'z'", mode => 'AS',
	on => 'the table', targets => \@ALL4);
add_case(kind => 'trigger', doc => 'CREATE TRIGGER', sql => 'CREATE TRIGGER z_trg BEFORE INSERT ON {T} FOR EACH ROW EXECUTE FUNCTION cov_trigger()',
	mode => 'SRE', on => 'the table and its partitions', targets => [ @ALL4, 'pt_late' ]);
add_case(kind => 'trigger', doc => 'ALTER TRIGGER ... RENAME', sql => 'ALTER TRIGGER {trg} ON {T} RENAME TO z_trg2', mode => 'AEL',
	on => 'the table', targets => [qw(it pt it_c)]);
add_case(kind => 'trigger', doc => 'DROP TRIGGER', sql => 'DROP TRIGGER {trg} ON {T}', mode => 'AEL', on => 'the table',
	targets => [qw(it pt it_c)]);
add_case(kind => 'rule', doc => 'CREATE RULE', sql => 'CREATE RULE z_rule AS ON INSERT TO {T} DO ALSO NOTHING', mode => 'AEL',
	on => 'the table', targets => \@ALL4);
add_case(kind => 'rule', doc => 'ALTER RULE ... RENAME', sql => 'ALTER RULE {rule} ON {T} RENAME TO z_rule2', mode => 'AEL',
	on => 'the table', targets => \@LEAF3);
add_case(kind => 'rule', doc => 'DROP RULE', sql => 'DROP RULE {rule} ON {T}', mode => 'AEL', on => 'the table',
	targets => \@LEAF3);
add_case(kind => 'policy', doc => 'CREATE POLICY', sql => 'CREATE POLICY z_pol ON {T} USING (true)', mode => 'AEL',
	on => 'the table', targets => \@ALL4);
add_case(kind => 'policy', doc => 'ALTER POLICY', sql => 'ALTER POLICY {pol} ON {T} USING (false)', mode => 'AEL',
	on => 'the table', targets => \@ALL4);
add_case(kind => 'policy', doc => 'ALTER POLICY ... RENAME', sql => 'ALTER POLICY {pol} ON {T} RENAME TO z_pol2', mode => 'AEL',
	on => 'the table', targets => \@ALL4);
add_case(kind => 'policy', doc => 'DROP POLICY', sql => 'DROP POLICY {pol} ON {T}', mode => 'AEL', on => 'the table',
	targets => \@ALL4);
add_case(kind => 'statistics', doc => 'CREATE STATISTICS', sql => 'CREATE STATISTICS z_stat ON id, k FROM {T}', mode => 'SUE',
	on => 'the table', targets => \@ALL4);
add_case(kind => 'statistics', doc => 'DROP STATISTICS', sql => 'DROP STATISTICS {stat}', mode => 'SUE', on => 'the table',
	targets => \@ALL4);
add_case(kind => 'statistics', doc => 'ALTER STATISTICS ... SET STATISTICS', sql => 'ALTER STATISTICS {stat} SET STATISTICS 10',
	mode => 'none', on => '(no lock on the table)', targets => \@ALL4);
add_case(kind => 'publication', doc => 'CREATE PUBLICATION ... FOR TABLE', sql => "CREATE PUBLICATION z_pub FOR TABLE {T} WITH (publish = 'insert')",
	mode => 'SUE', on => 'the table and its partitions and children (not with ONLY)', targets => \@ALL4);
add_case(kind => 'publication', doc => 'ALTER PUBLICATION ... ADD TABLE', sql => 'ALTER PUBLICATION cov_pub ADD TABLE {T}',
	mode => 'SUE', on => 'the table and its partitions and children (not with ONLY)', targets => \@ALL4);
add_case(kind => 'publication', doc => 'ALTER PUBLICATION ... DROP TABLE', sql => 'ALTER PUBLICATION {pub} DROP TABLE ONLY {T}',
	mode => 'SUE', on => 'the table', targets => \@ALL4);
add_case(kind => 'publication', doc => 'ALTER PUBLICATION ... SET TABLE', sql => 'ALTER PUBLICATION {pub} SET TABLE cov_free',
	mode => 'SUE', on => 'the tables that leave the publication', targets => \@ALL4);
add_case(kind => 'domain', doc => 'ALTER DOMAIN ... ADD CONSTRAINT', sql => 'ALTER DOMAIN {dom} ADD CONSTRAINT z_dchk CHECK (VALUE > -1)',
	mode => 'S', on => 'every table with a column of the domain (or of a domain over it)', targets => [qw(it pt_1 it_c)]);
add_case(kind => 'domain', doc => 'ALTER DOMAIN ... ADD CONSTRAINT ... NOT VALID',
	sql => 'ALTER DOMAIN {dom} ADD CONSTRAINT z_dchk CHECK (VALUE > -1) NOT VALID', mode => 'none',
	on => '(no lock on the tables)', targets => [qw(it pt_1 it_c)]);
add_case(kind => 'domain', doc => 'ALTER DOMAIN ... VALIDATE CONSTRAINT', sql => 'ALTER DOMAIN {dom} VALIDATE CONSTRAINT {dom}_nv',
	mode => 'S', on => 'every table with a column of the domain', targets => [qw(it pt_1 it_c)]);
add_case(kind => 'domain', doc => 'ALTER DOMAIN ... SET NOT NULL', sql => 'ALTER DOMAIN {dom} SET NOT NULL', mode => 'S',
	on => 'every table with a column of the domain', targets => [qw(it pt_1 it_c)]);
add_case(kind => 'domain', doc => 'ALTER DOMAIN ... ADD CONSTRAINT (domain over the domain)',
	sql => 'ALTER DOMAIN {dom}_base ADD CONSTRAINT z_dchk CHECK (VALUE > -1)', mode => 'S',
	on => 'every table with a column of a domain over it', targets => ['it']);
for my $attr ([ 'ADD ATTRIBUTE z int CASCADE', 'ADD ATTRIBUTE' ], [ 'DROP ATTRIBUTE k CASCADE', 'DROP ATTRIBUTE' ],
	[ 'ALTER ATTRIBUTE k TYPE bigint CASCADE', 'ALTER ATTRIBUTE ... TYPE' ],
	[ 'RENAME ATTRIBUTE k TO z_k CASCADE', 'RENAME ATTRIBUTE' ])
{
	add_case(kind => 'type', doc => "ALTER TYPE ... $attr->[1] ... CASCADE", sql => "ALTER TYPE tt_type $attr->[0]",
		mode => 'AEL', on => 'every typed table of the type', targets => ['tt']);
}
add_case(kind => 'tablespace', doc => 'ALTER TABLE ALL IN TABLESPACE ... SET TABLESPACE',
	sql => 'ALTER TABLE ALL IN TABLESPACE {ts} SET TABLESPACE pg_default', mode => 'AEL', on => 'every table moved',
	targets => \@ALL4);
add_case(kind => 'tablespace', doc => 'ALTER INDEX ALL IN TABLESPACE ... SET TABLESPACE',
	sql => 'ALTER INDEX ALL IN TABLESPACE {its} SET TABLESPACE pg_default', mode => 'AEL', on => "every moved index's table",
	targets => \@LEAF3);
add_case(kind => 'foreign key', doc => 'ALTER TABLE other ADD FOREIGN KEY ... REFERENCES',
	sql => 'ALTER TABLE cov_free ADD CONSTRAINT z_fk FOREIGN KEY (id) REFERENCES {T} (id)', mode => 'SRE',
	on => 'the referenced table', targets => \@ALL4);
add_case(kind => 'foreign key', doc => 'ALTER TABLE other ADD COLUMN ... REFERENCES',
	sql => 'ALTER TABLE cov_free ADD COLUMN z_ref int REFERENCES {T} (id)', mode => 'SRE', on => 'the referenced table',
	targets => \@ALL4);
add_case(kind => 'foreign key', doc => 'CREATE TABLE ... REFERENCES', sql => 'CREATE TABLE z_new (id int REFERENCES {T} (id))',
	mode => 'SRE', on => 'the referenced table', targets => \@ALL4);
add_case(kind => 'foreign key', doc => 'DROP TABLE of a referencing table', sql => 'DROP TABLE {ref}', mode => 'AEL',
	on => 'the referenced table', targets => \@ALL4);
add_case(kind => 'foreign key', doc => 'ALTER TABLE referencing DROP CONSTRAINT <fk>', sql => 'ALTER TABLE {ref} DROP CONSTRAINT {ref}_fk',
	mode => 'AEL', on => 'the referenced table', targets => \@ALL4);
add_case(kind => 'foreign key', doc => 'ALTER TABLE referencing ALTER COLUMN <fk column> TYPE',
	sql => 'ALTER TABLE {ref} ALTER COLUMN t_id TYPE bigint', mode => 'AEL', on => 'the referenced table', targets => \@ALL4);
add_case(kind => 'foreign key', doc => 'ALTER TABLE referencing DROP COLUMN <fk column>', sql => 'ALTER TABLE {ref} DROP COLUMN t_id',
	mode => 'AEL', on => 'the referenced table', targets => \@ALL4);
add_case(kind => 'foreign key', doc => 'DROP TABLE referenced CASCADE', sql => 'DROP TABLE {oth} CASCADE', mode => 'AEL',
	on => 'the referencing table', targets => [qw(it pt it_c)]);
add_case(kind => 'foreign key', doc => 'ALTER TABLE referenced ALTER COLUMN <key> TYPE', sql => 'ALTER TABLE {oth} ALTER COLUMN id TYPE bigint',
	mode => 'AEL', on => 'the referencing table', targets => [qw(it pt it_c)]);
add_case(kind => 'foreign key', doc => 'ALTER TABLE referenced DROP CONSTRAINT <key> CASCADE',
	sql => 'ALTER TABLE {oth} DROP CONSTRAINT {oth}_pkey CASCADE', mode => 'AEL', on => 'the referencing table',
	targets => [qw(it pt it_c)]);
add_case(kind => 'foreign key', doc => 'TRUNCATE referenced CASCADE', sql => 'TRUNCATE {oth} CASCADE', mode => 'AEL',
	on => 'the referencing table', targets => [qw(it pt it_c)]);

# ALTER TABLE cases from the AlterTableType classification.
my ($at_classified, $at_generated, $at_internal) = (0, 0, 0);
for my $name (sort keys %AT) {
	my $entry = $AT{$name};
	next unless ref $entry;
	my ($subcommand, $mode, $targets, $on) = @$entry;
	my $word = $name eq 'AT_AlterColumnGenericOptions' || $name eq 'AT_GenericOptions' ? 'ALTER FOREIGN TABLE' : 'ALTER TABLE';
	# The form for the docs: identifiers (lower case here) and values become "...".
	(my $doc = $subcommand) =~ s/\([^)]*\)/(...)/g;
	$doc =~ s/\{\w+\}|\b[a-z_][a-z0-9_]*\b|\b\d+\b|'v'/.../g;
	$doc =~ s/(\.\.\.)(\s*\.\.\.)+/.../g;
	$doc =~ s/\s+$//;
	my ($first, $last) = @{ $AT_MAJORS{$name} // [] };
	add_case(kind => 'ALTER TABLE', doc => $doc, sql => "$word {T} $subcommand", mode => $mode,
		on => $on // 'the table (and its children unless ONLY)',
		targets => $targets, at => $name, first_major => $first, last_major => $last,
		off_server => !at_on_server($name));
}

# ---- The server's AlterTableType values ------------------------------------------------------
chomp(my $includedir = `$pg_config --includedir-server`);
my $header = slurp_file("$includedir/nodes/parsenodes.h");
my ($enum) = $header =~ /typedef enum AlterTableType\s*\{(.*?)\}\s*AlterTableType;/s;
ok(defined $enum, "AlterTableType found in $includedir/nodes/parsenodes.h");
$enum =~ s{/\*.*?\*/}{}gs;
my @server_values = $enum =~ /\b(AT_\w+)\b/g;
cmp_ok(scalar @server_values, '>', 50, 'the server has ' . scalar(@server_values) . ' AlterTableType values');
my @unclassified = grep { !exists $AT{$_} } @server_values;
is_deeply(\@unclassified, [], 'every AlterTableType value of the server under test is classified here')
  or diag("classify these (a statement that reaches them, or why none does): @unclassified");
my %on_server = map { $_ => 1 } @server_values;
my @stale = grep { !$on_server{$_} && at_on_server($_) } sort keys %AT;
is_deeply(\@stale, [], "every classified AlterTableType value of PostgreSQL $pg_major exists on the server");
my @early = grep { $on_server{$_} && !at_on_server($_) } sort keys %AT_MAJORS;
is_deeply(\@early, [], "no value exists on the server outside the majors given for it");
for (@server_values) { $at_classified++; ref $AT{$_} ? $at_generated++ : $at_internal++ if exists $AT{$_}; }

# ---- Expand cases into statements ------------------------------------------------------------
my @STATEMENTS;    # { id, case, target, sql }
for my $case (grep { !$_->{off_server} } @CASES) {
	for my $target (@{ $case->{targets} }) {
		my %names = (T => $target, %{ $T{$target} });
		my $sql = $case->{sql};
		$sql =~ s/\{(\w+)\}/defined $names{$1} ? $names{$1} : die "no {$1} for target $target in: $case->{sql}"/ge;
		push @STATEMENTS, { id => scalar(@STATEMENTS), case => $case, target => $target, sql => $sql };
	}
}

# ---- The docs table, generated from the cases ------------------------------------------------
sub by_rank
{
	my ($a, $b) = map { [ split /\|/, $_, 2 ] } @_;
	return $RANK{ $SHORT{ $b->[0] } } <=> $RANK{ $SHORT{ $a->[0] } } || $a->[1] cmp $b->[1];
}

sub docs_table
{
	my @rows = ('| kind of object | statement | strongest lock on a protected relation | taken on |',
		'| --- | --- | --- | --- |');
	my %at_by_mode;
	for my $case (@CASES) {
		if ($case->{at}) {
			my $form = "`$case->{doc}`";
			$form .= " (PostgreSQL $case->{first_major} and later)" if defined $case->{first_major};
			$form .= " (PostgreSQL $case->{last_major} and earlier)" if defined $case->{last_major};
			push @{ $at_by_mode{"$case->{mode}|$case->{on}"} }, $form;
			next;
		}
		my $mode = $SHORT{ $case->{mode} };
		push @rows, "| $case->{kind} | `$case->{doc}` | $mode | $case->{on} |";
	}
	for my $key (sort { by_rank($a, $b) } keys %at_by_mode) {
		my ($short, $on) = split /\|/, $key, 2;
		my %seen;
		my @forms = grep { !$seen{$_}++ } @{ $at_by_mode{$key} };
		push @rows, "| ALTER TABLE | " . join(', ', @forms) . " | $SHORT{$short} | $on |";
	}
	return join("\n", @rows) . "\n";
}
my $begin_marker = '<!-- begin: generated by test/t/100_guardrail_coverage.pl -->';
my $end_marker = '<!-- end: generated by test/t/100_guardrail_coverage.pl -->';
my $source = $ENV{LG_SOURCE_DIR} // "$FindBin::RealBin/../..";
my $doc_path = $ENV{LG_GUARDRAILS_DOC} // "$source/docs/guardrails.md";
my $doc = slurp_file($doc_path);
my $generated = docs_table();
if ($ENV{LG_GUARDRAILS_DOC}) {
	$doc =~ s/(\Q$begin_marker\E\n).*?(\Q$end_marker\E)/$1$generated$2/s or die "markers missing in $doc_path";
	open(my $fh, '>', $doc_path) or die $!;
	print $fh $doc;
	close $fh;
}
my ($documented) = $doc =~ /\Q$begin_marker\E\n(.*?)\Q$end_marker\E/s;
is($documented, $generated, 'the table in docs/guardrails.md is the one generated from this list');

# ---- The cluster and the fixture -------------------------------------------------------------
my $node = PostgreSQL::Test::Cluster->new('guardrail_coverage');
$node->init;
# Default settings plus lockguard.
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'lockguard'\n");
$node->start;
my $base = $node->basedir;
my @spaces = qw(it_ts pt_ts pt_1_ts it_c_ts it_its pt_1_its it_c_its);
mkdir "$base/$_" for @spaces;
$node->safe_psql('postgres', join("\n",
	'CREATE EXTENSION lockguard;',
	'CREATE ROLE lg_migrator;',
	'GRANT CREATE ON DATABASE postgres TO lg_migrator;',
	(map {"CREATE TABLESPACE $_ LOCATION '$base/$_'; GRANT CREATE ON TABLESPACE $_ TO lg_migrator;"} @spaces),
	'CREATE FOREIGN DATA WRAPPER cov_fdw; CREATE SERVER cov_srv FOREIGN DATA WRAPPER cov_fdw;',
	'GRANT USAGE ON FOREIGN SERVER cov_srv TO lg_migrator;',
	'CREATE SCHEMA cov AUTHORIZATION lg_migrator; CREATE SCHEMA cov2 AUTHORIZATION lg_migrator;',
	'ALTER ROLE lg_migrator SET search_path = cov, public;',
	'ALTER ROLE postgres SET search_path = cov, public;'));

my $fixture = <<'SQL';
SET ROLE lg_migrator;
SET search_path = cov;
CREATE FUNCTION cov_trigger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE DOMAIN it_dom_base int;
CREATE DOMAIN it_dom it_dom_base;
CREATE DOMAIN pt_dom int;
CREATE DOMAIN it_c_dom int;
ALTER DOMAIN it_dom ADD CONSTRAINT it_dom_nv CHECK (VALUE > -5) NOT VALID;
ALTER DOMAIN pt_dom ADD CONSTRAINT pt_dom_nv CHECK (VALUE > -5) NOT VALID;
ALTER DOMAIN it_c_dom ADD CONSTRAINT it_c_dom_nv CHECK (VALUE > -5) NOT VALID;
CREATE TABLE it_oth (id int PRIMARY KEY);
CREATE TABLE pt_oth (id int PRIMARY KEY);
CREATE TABLE it_c_oth (id int PRIMARY KEY);
CREATE TABLE cov_free (id int);
CREATE TABLE cov_parent2 ();

CREATE TABLE it (id int PRIMARY KEY, k int NOT NULL DEFAULT 0, d it_dom, o int CONSTRAINT it_o_fk REFERENCES it_oth,
    g int GENERATED ALWAYS AS (id * 2) STORED, x int, s text,
    idn int GENERATED BY DEFAULT AS IDENTITY,
    CONSTRAINT it_chk CHECK (k > -10)) TABLESPACE it_ts;
ALTER TABLE it ADD CONSTRAINT it_nv CHECK (k > -20) NOT VALID;
CREATE UNIQUE INDEX it_u ON it (x);
CREATE INDEX it_k_idx ON it (k) TABLESPACE it_its;
CREATE TABLE it_c (c it_c_dom, co int CONSTRAINT it_c_co_fk REFERENCES it_c_oth, y int, UNIQUE (id),
    CONSTRAINT it_c_chk CHECK (y > -10)) INHERITS (it) TABLESPACE it_c_ts;
ALTER TABLE it_c ADD CONSTRAINT it_c_nv CHECK (y > -20) NOT VALID;
CREATE UNIQUE INDEX it_c_u ON it_c (y);
CREATE INDEX it_c_k_idx ON it_c (k) TABLESPACE it_c_its;

CREATE TABLE pt (id int, k int NOT NULL DEFAULT 0, d pt_dom, o int CONSTRAINT pt_o_fk REFERENCES pt_oth,
    g int GENERATED ALWAYS AS (id * 2) STORED, x int, s text, PRIMARY KEY (id),
    CONSTRAINT pt_chk CHECK (k > -10)) PARTITION BY RANGE (id) TABLESPACE pt_ts;
ALTER TABLE pt ADD CONSTRAINT pt_nv CHECK (k > -20) NOT VALID;
CREATE INDEX pt_k_idx ON pt (k);
CREATE TABLE pt_1 PARTITION OF pt FOR VALUES FROM (0) TO (1000) TABLESPACE pt_1_ts;
ALTER TABLE pt_1 ADD CONSTRAINT pt_1_chk CHECK (x > -10);
ALTER TABLE pt_1 ADD CONSTRAINT pt_1_nv CHECK (x > -20) NOT VALID;
CREATE INDEX pt_1_own ON pt_1 (x) TABLESPACE pt_1_its;
CREATE TABLE pt_def PARTITION OF pt DEFAULT;
CREATE TABLE pt_att (LIKE pt INCLUDING ALL);
CREATE TABLE pt_late (LIKE pt INCLUDING ALL);

CREATE TYPE tt_type AS (id int, k int);
CREATE TABLE tt OF tt_type;
CREATE TRIGGER tt_trg BEFORE INSERT ON tt FOR EACH ROW EXECUTE FUNCTION cov_trigger();
CREATE TABLE tu (id int NOT NULL, k int);
CREATE FOREIGN TABLE ft (a int) SERVER cov_srv;
CREATE MATERIALIZED VIEW mv AS SELECT id FROM cov_free;
CREATE UNIQUE INDEX mv_id ON mv (id);

CREATE TABLE it_ref (id int PRIMARY KEY, t_id int CONSTRAINT it_ref_fk REFERENCES it (id));
CREATE TABLE pt_ref (id int PRIMARY KEY, t_id int CONSTRAINT pt_ref_fk REFERENCES pt (id));
CREATE TABLE pt_1_ref (id int PRIMARY KEY, t_id int CONSTRAINT pt_1_ref_fk REFERENCES pt_1 (id));
CREATE TABLE it_c_ref (id int PRIMARY KEY, t_id int CONSTRAINT it_c_ref_fk REFERENCES it_c (id));
CREATE TABLE cov_orphan_it (LIKE it INCLUDING ALL);
CREATE TABLE cov_orphan_it_c (LIKE it_c INCLUDING ALL);
SQL
for my $t (@ALL4) {
	my $n = $T{$t};
	$fixture .= "CREATE VIEW ${t}_v AS SELECT id FROM $t;\n";
	$fixture .= "CREATE TRIGGER $n->{trg} BEFORE INSERT ON $t FOR EACH ROW EXECUTE FUNCTION cov_trigger();\n";
	$fixture .= "CREATE RULE $n->{rule} AS ON UPDATE TO $t DO ALSO NOTHING;\n" if $n->{rule};
	$fixture .= "CREATE POLICY $n->{pol} ON $t USING (true);\n";
	$fixture .= "CREATE STATISTICS $n->{stat} ON id, k FROM $t;\n";
	$fixture .= "CREATE PUBLICATION $n->{pub} FOR TABLE ONLY $t WITH (publish = 'insert');\n";
}
$fixture .= "CREATE PUBLICATION cov_pub WITH (publish = 'insert');\n";
$fixture .= <<'SQL';
RESET ROLE;
-- The policies: the default forbidden modes, the owner exempt.
INSERT INTO lockguard.lock_policies (relation, exempt_roles, reason)
SELECT r::regclass, '{lg_migrator}', 'coverage: ' || r FROM unnest(ARRAY['cov.it', 'cov.pt', 'cov.tt', 'cov.tu', 'cov.ft', 'cov.mv']) r;
-- A partition attached after the policy exists (by the exempt owner) is covered too.
SET ROLE lg_migrator;
ALTER TABLE pt ATTACH PARTITION pt_late FOR VALUES FROM (1000) TO (2000);
RESET ROLE;
-- What the policies govern, fixed now: the protected tables, their partitions and children,
-- and all their indexes.
CREATE TABLE public.cov_governed AS
WITH RECURSIVE tree(relid) AS (
    SELECT relation::oid FROM lockguard.lock_policies
    UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.relid)
SELECT relid FROM tree UNION SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT relid FROM tree);
CREATE TABLE public.cov_waits (pid int, relation oid, mode text, query text);
CREATE TABLE public.cov_polls (n bigint);
INSERT INTO public.cov_polls VALUES (0);
CREATE TABLE public.cov_stop (stop boolean);
-- The watcher: polls pg_locks for a waiting statement session until told to stop.
CREATE PROCEDURE public.cov_watch() LANGUAGE plpgsql AS $$
BEGIN
    LOOP
        INSERT INTO public.cov_waits
        SELECT l.pid, l.relation, l.mode, a.query FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE NOT l.granted AND a.application_name = 'lg_coverage';
        UPDATE public.cov_polls SET n = n + 1;
        EXIT WHEN EXISTS (SELECT 1 FROM public.cov_stop);
        COMMIT;
        PERFORM pg_sleep(0.002);
    END LOOP;
    COMMIT;
END $$;
SQL
$node->safe_psql('postgres', $fixture);

# ---- Running statements ----------------------------------------------------------------------
my @WRAPPERS = qw(plain function procedure do execute);
my $fn = 0;
sub wrap
{
	my ($wrapper, $sql) = @_;
	return "$sql;" if $wrapper eq 'plain';
	$fn++;
	return "CREATE FUNCTION pg_temp.cov_f$fn() RETURNS void LANGUAGE plpgsql AS \$w\$ BEGIN $sql; END \$w\$;\nSELECT pg_temp.cov_f$fn();"
	  if $wrapper eq 'function';
	return "CREATE PROCEDURE pg_temp.cov_p$fn() LANGUAGE plpgsql AS \$w\$ BEGIN $sql; END \$w\$;\nCALL pg_temp.cov_p$fn();"
	  if $wrapper eq 'procedure';
	return "DO \$w\$ BEGIN $sql; END \$w\$;" if $wrapper eq 'do';
	return "DO \$w\$ BEGIN EXECUTE \$x\$$sql\$x\$; END \$w\$;";
}

# Runs a script in one psql session; returns { "<tag> <id> <wrapper>" => sqlstate } and the
# @@LOCKS lines.
my $statements_run = 0;
sub run_script
{
	my ($name, $role, $body) = @_;
	my $script = "$base/$name.sql";
	open(my $fh, '>', $script) or die $!;
	print $fh "\\set VERBOSITY terse\n";
	print $fh "SET ROLE $role;\n" if $role;
	print $fh $body;
	close $fh;
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-d', $node->connstr('postgres') . ' application_name=lg_coverage', '-f', $script ],
		'>', \$stdout, '2>', \$stderr);
	my %result;
	my %locks;
	for (split /\n/, $stdout) {
		$result{"$1 $2"} = $3 if /^\@\@RUN (\d+) (\w+) (\w+)$/;
		$locks{$1} = $2 if /^\@\@LOCKS (\d+) ?(.*)$/;
	}
	note("$name: stderr of psql:\n" . substr($stderr, 0, 4000)) if $stderr ne '';
	return (\%result, \%locks, $stderr);
}

sub expect_state { my ($st, $want) = @_; return $want eq 'ok' ? $st eq '00000' : $st eq $want; }

# Strongest mode seen on a governed relation: rank (0: none).
sub strongest { my $r = 0; for (split /,/, shift // '') { my $k = $RANK{ pg_mode_name($_) } // 0; $r = $k if $k > $r; } return $r; }

# ---- Phase 1: the oracle ---------------------------------------------------------------------
$node->safe_psql('postgres', 'UPDATE lockguard.lock_policies SET enabled = false');
my $body = '';
for my $s (grep { !$_->{case}{notxn} } @STATEMENTS) {
	$body .= "BEGIN;\n$s->{sql};\n\\echo \@\@RUN $s->{id} oracle :SQLSTATE\n";
	$body .= "SELECT '\@\@LOCKS $s->{id} ' || coalesce(string_agg(DISTINCT l.mode, ','), '') FROM pg_locks l "
	  . "WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.relation IN (SELECT relid FROM public.cov_governed);\n";
	$body .= "ROLLBACK;\n";
	$statements_run++;
}
my ($oracle, $oracle_locks) = run_script('oracle', '', $body);
my ($oracle_bad, $oracle_checked) = (0, 0);
for my $s (grep { !$_->{case}{notxn} } @STATEMENTS) {
	my $st = $oracle->{"$s->{id} oracle"} // 'missing';
	my $declared = $RANK{ $SHORT{ $s->{case}{mode} } } // 0;
	my $seen = strongest($oracle_locks->{ $s->{id} });
	$oracle_checked++;
	next if $st eq '00000' && $seen == $declared;
	$oracle_bad++;
	diag("oracle: [$s->{sql}] on $s->{target}: sqlstate $st, declared $SHORT{$s->{case}{mode}}, took "
		  . ($oracle_locks->{ $s->{id} } // '?'));
}
is($oracle_bad, 0, "the server takes the declared strongest mode for every statement that runs in a transaction block ($oracle_checked checked)");
$node->safe_psql('postgres', 'UPDATE lockguard.lock_policies SET enabled = true');

# ---- Phases 2 and 3: forbidden statements fail with LG004 and never wait -----------------------
# The holder: ROW EXCLUSIVE on every table of the fixture and on every index of the protected
# ones (EXPLAIN of an UPDATE plans it, which opens the indexes in ROW EXCLUSIVE), as writers do.
my $holder = LgDeployment::Session->new($node->connstr('postgres'));
my @tables = split /\n/, $node->safe_psql('postgres',
	"SELECT c.oid::regclass FROM pg_class c WHERE c.relnamespace = 'cov'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 1");
my @leaves = split /\n/, $node->safe_psql('postgres',
	"SELECT c.oid::regclass FROM pg_class c WHERE c.oid IN (SELECT relid FROM public.cov_governed) AND c.relkind = 'r' ORDER BY 1");
$holder->query_safe('BEGIN; LOCK TABLE ' . join(', ', @tables) . ' IN ROW EXCLUSIVE MODE;');
$holder->query_safe("EXPLAIN (COSTS OFF) UPDATE ONLY $_ SET k = k") for @leaves;
# A materialized view has readers only (LOCK TABLE does not take one): ACCESS SHARE, as they hold.
$holder->query_safe('SELECT count(*) FROM mv');
my $held_indexes = $node->safe_psql('postgres',
	"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.granted AND l.mode = 'RowExclusiveLock' "
	  . "AND c.relkind = 'i' AND l.relation IN (SELECT relid FROM public.cov_governed)");
cmp_ok($held_indexes, '>', 10, "the holder holds ROW EXCLUSIVE on the protected tables and $held_indexes of their indexes");

my $watcher = LgDeployment::Session->new($node->connstr('postgres'));
$watcher->send('CALL public.cov_watch()');

sub forbidden_under { my ($s, $min) = @_; return ($RANK{ $SHORT{ $s->{case}{mode} } } // 0) >= $min; }

sub guarded_phase
{
	my ($name, $min, $max) = @_;
	my $body = "SET lock_timeout = '3s';\nSET log_lock_waits = on;\n";
	my @run;
	for my $s (@STATEMENTS) {
		my $rank = $RANK{ $SHORT{ $s->{case}{mode} } } // 0;
		next unless $rank >= $min && $rank <= $max;
		for my $w (@WRAPPERS) {
			$body .= wrap($w, $s->{sql}) . "\n\\echo \@\@RUN $s->{id} $w :SQLSTATE\n";
			push @run, [ $s, $w ];
			$statements_run++;
		}
	}
	my ($result) = run_script($name, '', $body);
	my $bad = 0;
	for (@run) {
		my ($s, $w) = @$_;
		my $st = $result->{"$s->{id} $w"} // 'missing';
		next if $st eq 'LG004';
		$bad++;
		diag("$name: [$s->{sql}] on $s->{target} ($w): sqlstate $st, expected LG004");
	}
	is($bad, 0, "$name: all " . scalar(@run) . ' forbidden statements (5 ways each) failed with LG004');
}
guarded_phase('default policy', $DEFAULT_MIN, 99);
$node->safe_psql('postgres',
	"UPDATE lockguard.lock_policies SET forbidden_modes = forbidden_modes || '{SHARE UPDATE EXCLUSIVE}'");
guarded_phase('SHARE UPDATE EXCLUSIVE forbidden too', $SUE_MIN, $DEFAULT_MIN - 1);
$node->safe_psql('postgres',
	"UPDATE lockguard.lock_policies SET forbidden_modes = array_remove(forbidden_modes, 'SHARE UPDATE EXCLUSIVE')");

$node->safe_psql('postgres', 'INSERT INTO public.cov_stop VALUES (true)');
$watcher->query('SELECT 1');
$watcher->quit;
my ($polls, $waits) = split /\|/, $node->safe_psql('postgres',
	'SELECT (SELECT n FROM public.cov_polls), (SELECT count(*) FROM public.cov_waits)');
cmp_ok($polls, '>', 10, "the watcher polled pg_locks $polls times while the statements ran");
is($waits, 0, 'no statement session ever waited for a lock')
  or diag($node->safe_psql('postgres', 'SELECT DISTINCT relation::regclass, mode, query FROM public.cov_waits LIMIT 20'));
unlike(slurp_file($node->logfile), qr/still waiting for/, 'log_lock_waits logged no wait');
$holder->query_safe('ROLLBACK');
$holder->quit;

# ---- Phase 4: allowed statements succeed ---------------------------------------------------
sub allowed_phase
{
	my ($name, $role, $pick) = @_;
	my $body = '';
	my @run;
	for my $s (grep { $pick->($_) } @STATEMENTS) {
		my @ways = $s->{case}{notxn} ? ('plain') : @WRAPPERS;
		for my $w (@ways) {
			my $wrapped = wrap($w, $s->{sql});
			if ($s->{case}{notxn}) {
				$body .= "$wrapped\n\\echo \@\@RUN $s->{id} $w :SQLSTATE\n";
				$body .= "$s->{case}{undo};\n" if $s->{case}{undo};
			} else {
				$body .= "BEGIN;\n$wrapped\n\\echo \@\@RUN $s->{id} $w :SQLSTATE\nROLLBACK;\n";
			}
			push @run, [ $s, $w ];
			$statements_run++;
		}
	}
	my ($result) = run_script($name, $role, $body);
	my $bad = 0;
	for (@run) {
		my ($s, $w) = @$_;
		my $st = $result->{"$s->{id} $w"} // 'missing';
		next if $st eq '00000';
		$bad++;
		diag("$name: [$s->{sql}] on $s->{target} ($w): sqlstate $st, expected success");
	}
	is($bad, 0, "$name: all " . scalar(@run) . ' statements succeeded');
}
allowed_phase('modes the policy permits', '', sub { !forbidden_under($_[0], $DEFAULT_MIN) });
allowed_phase('exempt role', 'lg_migrator',
	sub { forbidden_under($_[0], $DEFAULT_MIN) && ($_[0]{case}{exempt} // 1) });

# ---- Counts ----------------------------------------------------------------------------------
my %kinds = map { $_->{kind} => 1 } @CASES;
my $elapsed = time - $started;
diag(sprintf('classified %d AlterTableType values (%d with a generated statement, %d internal); %d statement kinds '
	  . 'over %d kinds of object, %d statements with their targets; ran %d statements; %.1f s',
	$at_classified, $at_generated, $at_internal, scalar(@CASES), scalar(keys %kinds), scalar(@STATEMENTS),
	$statements_run, $elapsed));

$node->stop;
done_testing();
