# Retention on demand for the worker's TAP tests. The worker deletes rows older than
# lockguard.history_retention every 60th cycle; the shortest retention is 60 s and a cycle is
# lockguard.sample_interval_ms, so a test that needs a retention pass backdates its rows an hour,
# sets a 30 min retention (rows the worker would copy back from shared memory are younger than
# that, and stay) and cycles of 10 ms (nobody may wait meanwhile: then nothing is sampled).
package LgRetention;

use strict;
use warnings;

use Exporter 'import';
our @EXPORT = qw(shorten_retention wait_for_retention_pass restore_retention);

sub shorten_retention
{
	my ($node) = @_;
	$node->safe_psql('postgres', q{
ALTER SYSTEM SET lockguard.history_retention = '30min';
ALTER SYSTEM SET lockguard.sample_interval_ms = 10;
SELECT pg_reload_conf();
});
}

# True once a whole retention pass has run after the call. With nothing waiting and nothing new
# to persist, the only cycles the worker counts are retention passes; the one under way may
# have been counted already, so two more.
sub wait_for_retention_pass
{
	my ($node) = @_;
	my $cycles = $node->safe_psql('postgres', 'SELECT cycles FROM lockguard.worker_stats()');
	return $node->poll_query_until('postgres',
		'SELECT cycles >= ' . ($cycles + 2) . ' FROM lockguard.worker_stats()');
}

sub restore_retention
{
	my ($node) = @_;
	$node->safe_psql('postgres', q{
ALTER SYSTEM RESET lockguard.history_retention;
ALTER SYSTEM RESET lockguard.sample_interval_ms;
SELECT pg_reload_conf();
});
}

1;
