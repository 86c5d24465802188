# CREATE EXTENSION lockguard refuses to install unless the library is in
# shared_preload_libraries (SQLSTATE 55000, with a hint naming the setting), leaves nothing
# behind, and succeeds once the server was restarted with the preload.
use strict;
use warnings;

# PostgreSQL::Test::Utils creates $TESTDIR/tmp_check at start-up but not $TESTDIR itself.
BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('nopreload');
$node->init;
$node->start;

my ($rc, $stdout, $stderr) = $node->psql('postgres', 'CREATE EXTENSION lockguard',
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($rc, 0, 'without the preload: CREATE EXTENSION lockguard fails');
like(
	$stderr,
	qr/ERROR:  55000: lockguard must be loaded via shared_preload_libraries/,
	'without the preload: the error is 55000 and says why');
like($stderr, qr/HINT:  .*shared_preload_libraries/, 'without the preload: the hint names shared_preload_libraries');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_extension WHERE extname = 'lockguard'")
	  . ' '
	  . $node->safe_psql('postgres', "SELECT count(*) FROM pg_namespace WHERE nspname = 'lockguard'"),
	'0 0',
	'without the preload: the failed CREATE EXTENSION left no extension and no schema');

$node->append_conf('postgresql.conf', "shared_preload_libraries = 'lockguard'\n");
$node->restart;

($rc, $stdout, $stderr) = $node->psql('postgres', 'CREATE EXTENSION lockguard');
is($rc, 0, 'with the preload: CREATE EXTENSION lockguard succeeds');
is($stderr, '', 'with the preload: no error or warning');
is( $node->safe_psql(
		'postgres', q{
BEGIN;
DO $$ BEGIN PERFORM lockguard_acquire('preload:ok'); END $$;
SELECT resource, granted FROM lockguard.locks;
COMMIT;
}),
	'preload:ok|t',
	'with the preload: lockguard_acquire works and shows in lockguard.locks');

$node->stop;
done_testing();
