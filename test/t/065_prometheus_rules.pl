# lockguard's Prometheus alert rules (docs/prometheus/lockguard-alerts.yaml) pass
# `promtool check rules`, and their unit tests (lockguard-alerts.test.yaml) pass
# `promtool test rules`. The unit tests are shown to have teeth: for each alert, a copy of the
# rules whose thresholds can never be crossed must fail them (so each alert has a case where it
# fires), and a copy whose thresholds are always crossed must fail them too (so each alert has a
# case where it stays quiet).
use strict;
use warnings;

BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use LgDeployment;
use LgPrereq;

my $source = source_dir();
my $dir = "$source/docs/prometheus";
my $promtool = require_program('promtool', 'prometheus');

sub promtool
{
	my ($workdir, @args) = @_;
	my $output = '';
	my $ok = IPC::Run::run([ $promtool, @args ], '>', \$output, '2>&1', init => sub { chdir $workdir or die $!; });
	return ($ok, $output);
}

my ($ok, $output) = promtool($dir, 'check', 'rules', 'lockguard-alerts.yaml');
ok($ok, 'promtool check rules lockguard-alerts.yaml') or diag($output);
like($output, qr/SUCCESS: 4 rules found/, 'it finds the four rules');
($ok, $output) = promtool($dir, 'test', 'rules', 'lockguard-alerts.test.yaml');
ok($ok, 'promtool test rules lockguard-alerts.test.yaml') or diag($output);

# The rules file as a header and one block per alert.
my $rules = slurp_file("$dir/lockguard-alerts.yaml");
my @parts = split /(?=^      - alert: )/m, $rules;
my $header = shift @parts;
my @alerts = map { /- alert: (\w+)/ ? $1 : die "no alert name in: $_" } @parts;
is(scalar(@alerts), 4, 'four alerts: ' . join(', ', @alerts));
my $tests = slurp_file("$dir/lockguard-alerts.test.yaml");

# Replaces every threshold in one alert's expression.
sub mutated_rules
{
	my ($index, $threshold) = @_;
	my @copy = @parts;
	$copy[$index] =~ s{^(\s+expr:.*?)(?=^\s+for:)}{
		(my $expr = $1) =~ s/(>=?|<=?)\s*-?[0-9.]+(?:e[0-9]+)?/$1 $threshold/g;
		$expr
	}mse or die "no expression in alert $alerts[$index]";
	return $header . join('', @copy);
}

for my $i (0 .. $#alerts)
{
	for my $case ([ 'never', '1e9', 'fires', 'it never can' ], [ 'always', '-1', 'stays quiet', 'it always fires' ])
	{
		my ($name, $threshold, $what, $mutant) = @$case;
		my $workdir = PostgreSQL::Test::Utils::tempdir();
		my $mutated = mutated_rules($i, $threshold);
		isnt($mutated, $rules, "$alerts[$i], thresholds $name crossed: the rules changed");
		PostgreSQL::Test::Utils::append_to_file("$workdir/lockguard-alerts.yaml", $mutated);
		PostgreSQL::Test::Utils::append_to_file("$workdir/lockguard-alerts.test.yaml", $tests);
		my ($mutant_ok, $mutant_output) = promtool($workdir, 'test', 'rules', 'lockguard-alerts.test.yaml');
		ok(!$mutant_ok && $mutant_output =~ /alertname: $alerts[$i]\b/,
			"$alerts[$i]: the unit tests have a case where it $what (they fail when $mutant)")
		  or diag($mutant_output);
	}
}

done_testing();
