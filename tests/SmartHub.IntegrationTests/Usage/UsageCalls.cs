using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SmartHub.Hosting.Testing;
using SmartHub.IntegrationTests.Hosting;
using SmartHub.ServiceDefaults.Redis;
using SmartHub.ServiceDefaults.Usage;

namespace SmartHub.IntegrationTests.Usage;

/// <summary>Usage records written as McpServer writes them, shared by the usage and credits tests.</summary>
internal static class UsageCalls
{
    /// <summary>Through the production path: a host with the Redis client and the recorder, stopped (flushed) afterwards.</summary>
    public static async Task RecordThroughRecorderAsync(this GraphFixture graph, IEnumerable<UsageRecord> records)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:cache"] = await graph.App.GetConnectionStringAsync("cache"),
            ["Usage:Recorder:FlushInterval"] = "00:00:00.050",
        });
        builder.AddRedisClient("cache");
        builder.AddUsageRecorder();
        using var host = builder.Build();
        await host.StartAsync();
        var recorder = host.Services.GetRequiredService<UsageRecorder>();
        foreach (var record in records)
        {
            Assert.True(recorder.Enqueue(record));
        }

        await host.StopAsync();
        Assert.Equal(0, recorder.Dropped);
    }
}
