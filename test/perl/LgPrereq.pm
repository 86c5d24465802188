# What a TAP test needs from outside PostgreSQL: a program (PgBouncer, the exporter, Graphviz),
# another extension's library, lockguard's source tree and the Makefile's test lists.
#
# A missing program or library skips the whole file (plan skip_all) so that
# `make prove_installcheck` works on a bare development box. test/run-all.sh installs every one
# of them and sets LG_REQUIRE_ALL_TOOLS=1: there a missing one fails the file instead, so that a
# package dropped from the run can never turn a test into a silent skip.
package LgPrereq;

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Spec;
use IPC::Run;
use Test::More;

use Exporter 'import';
our @EXPORT = qw(require_program require_libraries source_dir makefile_list pg_major);

sub skip_or_fail
{
	my ($reason) = @_;
	if ($ENV{LG_REQUIRE_ALL_TOOLS})
	{
		# A failing test, not a die: PostgreSQL::Test::Utils sends STDERR to the test's log only.
		fail("$reason; LG_REQUIRE_ALL_TOOLS is set (test/run-all.sh installs it): a failure, not a skip");
		done_testing();
		exit 1;
	}
	plan skip_all => $reason;
}

# The absolute path of a program; skips (or fails) the file when it is not installed. Call it
# before the first test: a skip_all after a test is an error.
sub require_program
{
	my ($name, $package) = @_;
	# A user's PATH often lacks the sbin directories, where Debian puts pgbouncer.
	for my $dir (split(/:/, $ENV{PATH} // ''), qw(/usr/sbin /sbin))
	{
		my $path = File::Spec->catfile($dir, $name);
		return $path if -x $path && !-d $path;
	}
	skip_or_fail("$name is not installed (Debian package $package)");
}

# Skips (or fails) the file unless every named library is in the server's pkglibdir.
sub require_libraries
{
	my (%packages) = @_;    # library name => Debian package
	my $pkglibdir = '';
	IPC::Run::run([ 'pg_config', '--pkglibdir' ], '>', \$pkglibdir) or die "pg_config --pkglibdir failed";
	chomp $pkglibdir;
	for my $library (sort keys %packages)
	{
		skip_or_fail("$library is not installed in $pkglibdir (Debian package $packages{$library})")
		  unless -f "$pkglibdir/$library.so";
	}
}

# The major version of the server under test (its pg_config), for Debian package names such as
# postgresql-17-pgaudit.
sub pg_major
{
	my $version = '';
	IPC::Run::run([ 'pg_config', '--version' ], '>', \$version) or die "pg_config --version failed";
	$version =~ /PostgreSQL (\d+)/ or die "unexpected pg_config --version: $version";
	return $1;
}

# lockguard's source tree: LG_SOURCE_DIR, or the tree this module is in (test/perl/..).
sub source_dir
{
	return $ENV{LG_SOURCE_DIR} // abs_path(dirname(__FILE__) . '/../..');
}

# A test list of the Makefile (REGRESS, ISOLATION): the one place the suites are listed.
sub makefile_list
{
	my ($variable) = @_;
	my $out = '';
	IPC::Run::run([ 'make', '-s', '--no-print-directory', '-C', source_dir(), "print-$variable" ],
		'>', \$out)
	  or die "make print-$variable failed";
	return split(' ', $out);
}

1;
