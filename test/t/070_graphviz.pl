# lockguard's DOT output is valid Graphviz: Graphviz's own `dot -Tsvg` renders, without a
# warning, the live wait graph of a staged chain whose sessions have quotes, backslashes, a
# newline, a tab and non-ASCII text in their queries and application names, the same graph from
# the worker's history, and a graph with a deadlock cycle from lockguard.dot_graph().
use strict;
use warnings;

BEGIN { mkdir $ENV{TESTDIR} if defined $ENV{TESTDIR} && !-d $ENV{TESTDIR}; }

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LgDeployment;
use LgPrereq;

my $dot = require_program('dot', 'graphviz');

# Renders DOT text to SVG; returns (exit ok, svg, stderr).
sub render
{
	my ($text) = @_;
	my ($svg, $err) = ('', '');
	my $ok = IPC::Run::run([ $dot, '-Tsvg' ], '<', \$text, '>', \$svg, '2>', \$err);
	return ($ok, $svg, $err);
}

my $node = PostgreSQL::Test::Cluster->new('graphviz');
$node->init;
# sample_interval_ms = 100: the staged chain is sampled into history within a fraction of a second.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'lockguard'
lockguard.sample_interval_ms = 100
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION lockguard');

# A chain: the holder sits in its transaction after an odd query; two sessions wait for it.
my $holder = $node->background_psql('postgres');
$holder->query_safe(q{SET application_name = 'batch "import" \ 1'});
$holder->query_safe(q{BEGIN; SELECT lockguard_acquire('graph:1')});
my $holder_pid = $holder->query_safe('SELECT pg_backend_pid()');
$holder->query_safe("SELECT 'quote \" backslash \\ tab \t café ⚡' AS odd");    # its query in the graph
my @waiters;
for my $app ('checkout <1> & co', "report\\n")
{
	my $waiter = $node->background_psql('postgres');
	$waiter->query_safe("SET application_name = '$app'");
	$waiter->query_until(qr/start/,
		"\\echo start\nBEGIN;\nSELECT /* \"waiter\"\n  \\ next line */ lockguard_acquire('graph:1', timeout_ms => 60000);\n");
	push @waiters, $waiter;
}
ok( $node->poll_query_until('postgres', qq{SELECT count(*) = 2 FROM lockguard.wait_graph WHERE blocker_pid = $holder_pid}),
	'two sessions wait for the holder');

my $live = $node->safe_psql('postgres', 'SELECT lockguard.wait_graph_dot()');
like($live, qr/^digraph "lockguard" \{/, 'the live graph is DOT');
like($live, qr/\\"import\\" \\\\ 1/, 'quotes and backslashes in labels are escaped');
my ($ok, $svg, $err) = render($live);
ok($ok, 'dot -Tsvg renders the live wait graph');
is($err, '', 'without a warning');
like($svg, qr{<svg }, 'into SVG');
like($svg, qr{<title>$holder_pid</title>.*fill="#f4cccc"}s, 'the holder is drawn as the root blocker');
is(scalar(() = $svg =~ /<title>\d+&#45;&gt;$holder_pid<\/title>/g), 2, 'both edges to it are drawn');
like($svg, qr/café ⚡/, 'non-ASCII text arrives intact');

# The worker's sample of the same moment.
ok( $node->poll_query_until('postgres', qq{SELECT count(*) >= 2 FROM lockguard.wait_history WHERE blocker_pid = $holder_pid}),
	'the worker sampled the chain');
my $past = $node->safe_psql('postgres', 'SELECT lockguard.wait_graph_dot(now())');
($ok, $svg, $err) = render($past);
ok($ok && $err eq '' && $svg =~ /<title>$holder_pid<\/title>/, 'dot -Tsvg renders the graph from history too')
  or diag("$err\n$past");

$holder->query_safe('COMMIT');
$_->query_safe('COMMIT') for @waiters;
$_->quit for $holder, @waiters;

# A deadlock cycle (1 -> 2 -> 1) with a waiter behind it: cycle nodes and edges are red.
my $cycle = $node->safe_psql('postgres', q{
SELECT lockguard.dot_graph(ARRAY[1, 2, 3], ARRAY[2, 1, 1], ARRAY[1, 2, 3], ARRAY[100, 200, 50]::bigint[],
                           ARRAY['a: UPDATE t SET v = ''x''', 'b: "quoted"', E'c:\nnext'], 'a "cycle"')});
like($cycle, qr/"1" \[label="pid 1\\na: UPDATE t SET v = 'x'", color=red\]/, 'a cycle node is marked red');
($ok, $svg, $err) = render($cycle);
ok($ok && $err eq '', 'dot -Tsvg renders a graph with a deadlock cycle') or diag("$err\n$cycle");
like($svg, qr{<title>a &quot;cycle&quot;</title>}, 'with its escaped name');

$node->stop;
done_testing();
