using System.Net;
using System.Net.Sockets;
using SmartHub.Hosting;
using SmartHub.Hosting.Testing;

namespace SmartHub.IntegrationTests.Hosting;

/// <summary>Start-up faults end with a message that names the cause and the fix, and nothing left running.</summary>
public sealed class StartupFailureTests
{
    [Fact]
    public async Task Gateway_port_in_use_is_reported_before_anything_starts()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Program>();
        builder.CreateResourceBuilder<ProjectResource>("gateway").WithHttpEndpoint(port);
        await using var app = await builder.BuildAsync();

        var error = await Assert.ThrowsAsync<DistributedApplicationException>(() => app.StartAsync());

        Assert.Contains($"Port {port}", error.Message, StringComparison.Ordinal);
        Assert.Contains("SMARTHUB_GATEWAY_PORT", error.Message, StringComparison.Ordinal);
        Assert.Empty(app.GetProcessIds());
    }

    [Fact]
    public async Task Missing_redis_binary_names_the_install_command()
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Program>(["--SMARTHUB_REDIS_SERVER=/nonexistent/redis-server"]);
        await using var app = await builder.BuildAsync();

        var error = await Assert.ThrowsAsync<DistributedApplicationException>(() => app.StartAsync());

        Assert.Contains("/nonexistent/redis-server", error.Message, StringComparison.Ordinal);
        Assert.Empty(app.GetProcessIds());
    }

    [Fact]
    public async Task Project_that_crashes_at_start_stops_the_graph_and_shows_its_output()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Program>();
        // Kestrel cannot bind a port that is taken: the core process exits during start-up.
        builder.CreateResourceBuilder<ProjectResource>("core").WithEnvironment("ASPNETCORE_URLS", $"http://127.0.0.1:{taken}");
        await using var app = await builder.BuildAsync();
        var started = new List<int>();
        using var watch = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!watch.IsCancellationRequested)
            {
                started.AddRange(app.GetProcessIds().Values.Where(p => !started.Contains(p)));
                await Task.Delay(20);
            }
        });

        var error = await Assert.ThrowsAsync<DistributedApplicationException>(() => app.StartAsync().WaitAsync(GraphFixture.StartTimeout));
        await watch.CancelAsync();
        await watcher;

        Assert.Contains("core", error.Message, StringComparison.Ordinal);
        Assert.Contains("exited during start-up", error.Message, StringComparison.Ordinal);
        Assert.Contains("address already in use", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.NotEmpty(started);
        Assert.All(started, pid => Assert.False(Poll.IsAlive(pid), $"PID {pid} is still running"));
    }
}
