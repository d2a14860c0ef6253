using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using SmartHub.Hosting;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.IntegrationTests.Hosting;

[Collection(GraphCollection.Name)]
public sealed class GraphTests(GraphFixture graph)
{
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("/auth/status", "auth")]
    [InlineData("/api/status", "core")]
    [InlineData("/v1/status", "mcp")]
    public async Task Each_service_answers_through_the_gateway(string path, string service)
    {
        using var admin = await graph.AdminClientAsync();
        using var response = await admin.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(service, body.GetProperty("service").GetString());
    }

    [Fact]
    public async Task Gateway_health_is_healthy_when_every_downstream_is()
    {
        using var response = await graph.Gateway.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Healthy", body.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("/auth/status", "authdb")]
    [InlineData("/api/status", "coredb")]
    public async Task Services_use_the_database_the_graph_gives_them(string path, string database)
    {
        var connectionString = await graph.App.GetConnectionStringAsync(database);
        var expected = new NpgsqlConnectionStringBuilder(connectionString);

        using var admin = await graph.AdminClientAsync();
        var body = await admin.GetFromJsonAsync<JsonElement>(path);

        Assert.Equal(database, body.GetProperty("database").GetString());
        Assert.Equal(expected.Port, body.GetProperty("port").GetInt32());
        Assert.True(body.GetProperty("schemaVersion").GetInt32() >= 1, "the service applied its migrations");
    }

    [Fact]
    public async Task Mcp_uses_the_redis_the_graph_gives_it()
    {
        var options = RedisOptions.Parse((await graph.App.GetConnectionStringAsync("cache"))!);

        using var admin = await graph.AdminClientAsync();
        var body = await admin.GetFromJsonAsync<JsonElement>("/v1/status");

        Assert.Equal(options.Port, body.GetProperty("redis").GetProperty("port").GetInt32());
    }

    [Fact]
    public async Task Killed_service_is_restarted_and_becomes_healthy_again()
    {
        var before = graph.App.ResourceNotifications.GetSnapshot("core");
        var pid = before.ProcessId!.Value;

        Process.GetProcessById(pid).Kill();

        var after = await graph.App.ResourceNotifications
            .WaitForResourceAsync("core", s => s.RestartCount > before.RestartCount && s.IsHealthy)
            .WaitAsync(Recovery);
        Assert.NotEqual(pid, after.ProcessId);
        Assert.False(Poll.IsAlive(pid));
        await Poll.UntilAsync(async () => (await graph.Gateway.GetAsync("/health")).IsSuccessStatusCode, Recovery, "the gateway's /health is healthy again");
        using var admin = await graph.AdminClientAsync();
        using var status = await admin.GetAsync("/api/status");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
    }

    [Fact]
    public async Task Service_is_unhealthy_while_its_database_is_down_and_recovers_by_itself()
    {
        using var core = graph.App.CreateHttpClient("core");

        await graph.App.StopResourceAsync("postgres");
        try
        {
            await Poll.UntilAsync(async () =>
            {
                using var response = await core.GetAsync("/health");
                var text = await response.Content.ReadAsStringAsync();
                return response.StatusCode == HttpStatusCode.ServiceUnavailable && text.Contains("coredb", StringComparison.Ordinal);
            }, Recovery, "core's /health reports coredb unhealthy");

            await Poll.UntilAsync(async () =>
            {
                using var response = await graph.Gateway.GetAsync("/health");
                var text = await response.Content.ReadAsStringAsync();
                return response.StatusCode == HttpStatusCode.ServiceUnavailable && text.Contains("core", StringComparison.Ordinal);
            }, Recovery, "the gateway's /health names core as unhealthy");
        }
        finally
        {
            await graph.App.StartResourceAsync("postgres");
        }

        await Poll.UntilAsync(async () => (await core.GetAsync("/health")).IsSuccessStatusCode, Recovery, "core's /health is healthy again");
        await Poll.UntilAsync(async () => (await graph.Gateway.GetAsync("/health")).IsSuccessStatusCode, Recovery, "the gateway's /health is healthy again");
    }
}
