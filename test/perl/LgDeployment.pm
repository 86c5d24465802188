# Helpers for the deployment tests (040-070): programs that are not PostgreSQL servers
# (PgBouncer, postgres_exporter) started on a free loopback port and stopped when the test file
# exits, also when it dies; and a psql session to a server that is not a
# PostgreSQL::Test::Cluster node (a pooler), which PostgreSQL's BackgroundPsql cannot open.
package LgDeployment;

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(free_loopback_port start_server stop_server wait_for_port
  slurp_log wait_until);

my @servers;    # [name, harness] of every server started and not yet stopped

# A TCP port on 127.0.0.1 that nothing listens on, from LG_TAP_PORT_RANGE (default
# 56000-56199), starting at a random place so that concurrent runs rarely collide.
sub free_loopback_port
{
	my ($low, $high) = split(/-/, $ENV{LG_TAP_PORT_RANGE} // '56000-56199');
	my $count = $high - $low + 1;
	my $start = int(rand($count));
	for my $i (0 .. $count - 1)
	{
		my $port = $low + ($start + $i) % $count;
		my $socket = IO::Socket::INET->new(
			LocalAddr => '127.0.0.1',
			LocalPort => $port,
			Proto => 'tcp',
			Listen => 1) or next;
		close($socket);
		return $port;
	}
	die "no free loopback port in $low-$high";
}

# Starts a server in the foreground with its output in $log, with %env added to its
# environment. The server is stopped by stop_server or, at the latest, when the test exits.
sub start_server
{
	my ($name, $command, $log, %env) = @_;
	note "starting $name: @$command";
	local %ENV = (%ENV, %env);
	my $harness = IPC::Run::start($command, '<', \undef, '>>', $log, '2>>', $log);
	push @servers, [ $name, $harness ];
	return $harness;
}

# SIGTERM, then SIGKILL if it is still there after 10 seconds.
sub stop_server
{
	my ($harness) = @_;
	@servers = grep { $_->[1] != $harness } @servers;
	$harness->signal('TERM') if $harness->pumpable;
	eval { $harness->kill_kill(grace => 10); };
	return;
}

END
{
	local $?;    # waiting for a child sets $?, which here is the test's exit status
	for my $server (reverse @servers)
	{
		note "stopping $server->[0] at exit";
		my $harness = $server->[1];
		eval { $harness->signal('TERM'); $harness->kill_kill(grace => 10); };
	}
	@servers = ();
}

# Polls $check (a code ref) until it returns true, for at most the tests' default timeout.
sub wait_until
{
	my ($check) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (time() < $deadline)
	{
		my $result = eval { $check->() };
		return $result if $result;
		select(undef, undef, undef, 0.1);
	}
	return 0;
}

# Waits until something accepts connections on 127.0.0.1:$port.
sub wait_for_port
{
	my ($port) = @_;
	return wait_until(
		sub {
			my $socket = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp')
			  or return 0;
			close($socket);
			return 1;
		});
}

sub slurp_log
{
	my ($path) = @_;
	return -f $path ? PostgreSQL::Test::Utils::slurp_file($path) : '';
}

# A psql session on any libpq connection string (through a pooler, for instance):
#   my $s = LgDeployment::Session->new('host=127.0.0.1 port=6432 dbname=app user=app');
#   my ($out, $err) = $s->query('SELECT 1');   # $err: what psql wrote to stderr
#   my $out = $s->query_safe('SELECT 1');      # dies on an error
package LgDeployment::Session;

use strict;
use warnings;
use IPC::Run;
use Test::More;

sub new
{
	my ($class, $connstr, $psql) = @_;
	my $self = bless { stdin => '', stdout => '', stderr => '', count => 0 }, $class;
	$self->{timer} = IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default);
	$self->{run} = IPC::Run::start([ $psql // 'psql', '-XAtq', '-d', $connstr, '-f', '-' ],
		'<', \$self->{stdin}, '>', \$self->{stdout}, '2>', \$self->{stderr}, $self->{timer});
	my ($out, $err) = $self->query('SELECT 1');
	die "psql could not connect with '$connstr': $err" if $out ne '1';
	return $self;
}

# Sends $sql and waits for psql to have run it; a separator echoed on both streams marks the end.
sub query
{
	my ($self, $sql) = @_;
	my $banner = "lg_session_done " . ++$self->{count};
	$self->{timer}->start($PostgreSQL::Test::Utils::timeout_default);
	$self->{stdin} .= "$sql\n;\n\\echo $banner\n\\warn $banner\n";
	$self->{run}->pump
	  until ($self->{stdout} =~ /$banner\n/ && $self->{stderr} =~ /$banner\n/)
	  || $self->{timer}->is_expired;
	die "psql timed out on: $sql" if $self->{timer}->is_expired;
	my ($out, $err) = ($self->{stdout}, $self->{stderr});
	$out =~ s/\n?$banner\n//;
	$err =~ s/\n?$banner\n//;
	$self->{stdout} = $self->{stderr} = '';
	note "query: $sql\nout: $out" . ($err ne '' ? "\nerr: $err" : '');
	return wantarray ? ($out, $err) : $out;
}

sub query_safe
{
	my ($self, $sql) = @_;
	my ($out, $err) = $self->query($sql);
	die "query failed: $sql\n$err" if $err =~ /ERROR|FATAL/;
	return $out;
}

# Sends $sql without waiting for it to finish (a statement that will wait for a lock); the
# next query() or finish() collects its output.
sub send
{
	my ($self, $sql) = @_;
	$self->{stdin} .= "$sql\n;\n";
	$self->{run}->pump_nb;
	return;
}

sub quit
{
	my ($self) = @_;
	$self->{stdin} .= "\\q\n";
	eval { $self->{run}->finish; };
	return;
}

1;
