using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SmartHub.McpServer.Providers;
using SmartHub.McpServer.Routing;
using SmartHub.ServiceDefaults.Redis;
using SmartHub.UnitTests.Gateway;

namespace SmartHub.UnitTests.Routing;

public sealed class RoutingExtensionsTests
{
    [Fact]
    public async Task AddRouting_registers_one_router_with_the_bound_options_and_the_redis_limiter()
    {
        using var host = Build(new Dictionary<string, string?> { ["Routing:MaxRetries"] = "4", ["Routing:BreakDuration"] = "00:01:00" });

        await host.StartAsync();
        var router = host.Services.GetRequiredService<DeploymentRouter>();

        Assert.Same(router, host.Services.GetRequiredService<DeploymentRouter>());
        Assert.IsType<RedisRpmLimiter>(host.Services.GetRequiredService<IRpmLimiter>());
        var options = host.Services.GetRequiredService<IOptions<RouterOptions>>().Value;
        Assert.Equal((4, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(120)), (options.MaxRetries, options.BreakDuration, options.TotalTimeout));
        await host.StopAsync();
    }

    [Theory]
    [InlineData("Routing:MaxRetries", "-1")]
    [InlineData("Routing:FailureRatio", "0")]
    [InlineData("Routing:MinimumThroughput", "1")]
    [InlineData("Routing:BreakDuration", "00:00:00.100")]
    [InlineData("Routing:TotalTimeout", "00:00:00")]
    public async Task Bad_options_stop_the_service_at_start(string key, string value)
    {
        using var host = Build(new Dictionary<string, string?> { [key] = value });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(key.Split(':')[1], ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_defaults_are_valid()
    {
        var options = new RouterOptions();

        Assert.True(Validator.TryValidateObject(options, new ValidationContext(options), null, validateAllProperties: true));
        Assert.Equal(
            (2, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(120), 0.5, 5, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30)),
            (options.MaxRetries, options.RetryBaseDelay, options.MaxRetryDelay, options.TotalTimeout, options.FailureRatio, options.MinimumThroughput, options.SamplingDuration, options.BreakDuration));
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", ApplicationName = "SmartHub.McpServer" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Providers:mock:Type"] = "mock",
            ["Providers:mock:Models:0"] = "mock-fast",
        });
        builder.Services.AddSingleton<IRedisClient>(new ScriptedRedis());
        builder.AddProviders();
        builder.AddRouting();
        return builder.Build();
    }
}
