using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartHub.McpServer.Mcp;

namespace SmartHub.UnitTests.Mcp;

public sealed class McpOptionsTests
{
    private static ValidateOptionsResult Validate(McpOptions options)
    {
        var annotations = new DataAnnotationValidateOptions<McpOptions>(null).Validate(null, options);
        return annotations.Failed ? annotations : new McpOptionsValidator().Validate(null, options);
    }

    [Fact]
    public void The_defaults_are_valid_and_stateful()
    {
        var options = new McpOptions();

        Assert.True(Validate(options).Succeeded);
        Assert.False(options.Stateless);
        Assert.Equal(new Uri("http://core"), options.CoreUri);
    }

    [Fact]
    public void More_sessions_per_user_than_in_all_is_refused()
    {
        var result = Validate(new McpOptions { MaxSessions = 5, MaxSessionsPerUser = 6 });

        Assert.True(result.Failed);
        Assert.Contains("Mcp:MaxSessionsPerUser (6) must not exceed Mcp:MaxSessions (5)", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://core")]
    [InlineData("/api")]
    public void The_core_uri_must_be_absolute_http(string uri)
    {
        var result = Validate(new McpOptions { CoreUri = new Uri(uri, UriKind.RelativeOrAbsolute) });

        Assert.True(result.Failed);
        Assert.Contains("Mcp:CoreUri", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Out_of_range_values_are_named()
    {
        Assert.Contains("Mcp:IdleTimeout", Validate(new McpOptions { IdleTimeout = TimeSpan.Zero }).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Mcp:MaxSessions", Validate(new McpOptions { MaxSessions = 0, MaxSessionsPerUser = 0 }).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Mcp:MaxRequestBodyBytes", Validate(new McpOptions { MaxRequestBodyBytes = 10 }).FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Mcp:KeepAliveInterval", Validate(new McpOptions { KeepAliveInterval = TimeSpan.FromHours(1) }).FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_setting_stops_the_service_at_start()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Production });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mcp:Stateless"] = "true",
            ["Mcp:MaxSessions"] = "3",
            ["Mcp:MaxSessionsPerUser"] = "4",
        });
        builder.AddMcp();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Mcp:MaxSessionsPerUser (4)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stateless_binds_from_configuration()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Mcp:Stateless"] = "true", ["Mcp:IdleTimeout"] = "00:05:00" })
            .Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddOptions<McpOptions>().BindConfiguration(McpOptions.SectionName);

        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<McpOptions>>().Value;

        Assert.True(options.Stateless);
        Assert.Equal(TimeSpan.FromMinutes(5), options.IdleTimeout);
    }
}
