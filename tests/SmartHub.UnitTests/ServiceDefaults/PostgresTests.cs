using System.Net.Sockets;
using Npgsql;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.UnitTests.ServiceDefaults;

public sealed class PostgresTests
{
    [Fact]
    public void Target_names_host_port_and_database_but_never_the_password()
    {
        var target = PostgresTarget.FromConnectionString("Host=db.internal;Port=6543;Database=coredb;Username=app;Password=hunter2");

        Assert.Equal("db.internal:6543/coredb", target.ToString());
        Assert.DoesNotContain("hunter2", target.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Connection_failures_are_described_by_their_cause()
    {
        var refused = new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused));

        Assert.Equal(new SocketException((int)SocketError.ConnectionRefused).Message, PostgresFailure.Describe(refused));
        Assert.True(PostgresFailure.IsTransient(refused));
    }

    [Fact]
    public void Timeouts_are_transient()
    {
        var timeout = new NpgsqlException("Exception while connecting", new TimeoutException());

        Assert.Equal("timed out", PostgresFailure.Describe(timeout));
        Assert.True(PostgresFailure.IsTransient(timeout));
    }

    [Fact]
    public void Programming_errors_are_not_transient()
    {
        Assert.False(PostgresFailure.IsTransient(new InvalidOperationException("bad")));
    }
}
