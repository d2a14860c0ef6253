using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.UnitTests.Redis;

public sealed class RedisHostingExtensionsTests
{
    [Fact]
    public void Missing_connection_string_fails_at_start_with_guidance()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddRedisClient("cache"));

        Assert.Equal("ConnectionStrings:cache is not configured. Run through the AppHost, or set ConnectionStrings__cache.", ex.Message);
    }

    [Fact]
    public void Invalid_connection_string_names_the_setting_but_not_the_password()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection([new("ConnectionStrings:cache", "h:1,password=Hunter2,ssl=true")]);

        var ex = Assert.Throws<InvalidOperationException>(() => builder.AddRedisClient("cache"));

        Assert.StartsWith("ConnectionStrings:cache is invalid:", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Hunter2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Registers_the_client_and_a_ready_health_check()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection([new("ConnectionStrings:cache", "127.0.0.1:1,password=x")]);

        builder.AddRedisClient("cache");
        await using var services = builder.Services.BuildServiceProvider();

        var client = services.GetRequiredService<IRedisClient>();
        Assert.Same(client, services.GetRequiredKeyedService<IRedisClient>("cache"));
        Assert.Equal("127.0.0.1", client.EndPoint.Host);
        Assert.Equal(1, client.EndPoint.Port);
        var registration = Assert.Single(services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations);
        Assert.Equal("cache", registration.Name);
        Assert.Contains("ready", registration.Tags);
        Assert.NotNull(services.GetRequiredService<TimeProvider>());
    }
}
