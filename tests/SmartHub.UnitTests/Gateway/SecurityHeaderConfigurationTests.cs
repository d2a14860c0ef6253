using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartHub.Gateway.Edge;
using SmartHub.Gateway.SecurityHeaders;
using SmartHub.Gateway.SecurityStatus;

namespace SmartHub.UnitTests.Gateway;

/// <summary>
/// The gateway's security headers as configured (<c>Gateway:SecurityHeaders</c>), checked the way
/// <c>GET /api/v1/security/status</c> checks them: the gateway's own header registration and response middleware on
/// a real Kestrel listener, read back by <see cref="SecurityHeaderProbe"/> over loopback and scored.
/// </summary>
public sealed class SecurityHeaderConfigurationTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    /// <summary>The security-header part of the gateway (registration, first middleware, /alive) with <paramref name="settings"/>.</summary>
    private static async Task<WebApplication> StartAsync(string environment, params (string Key, string Value)[] settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = environment });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.AddSecurityHeaders();
        builder.AddSecurityStatus();

        var app = builder.Build();
        app.UseEdgeResponseHeaders();
        app.MapGet(SecurityHeaderProbe.ProbePath, () => "Healthy");
        try
        {
            await app.StartAsync().WaitAsync(s_timeout);
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    private static async Task<(LiveResponse Live, SecurityEvaluation Score)> CheckAsync(WebApplication app)
    {
        var live = await app.Services.GetRequiredService<SecurityHeaderProbe>().FetchOwnAsync(CancellationToken.None).WaitAsync(s_timeout);
        return (live, SecurityScore.Evaluate(live.Header, distinctViolations: 0));
    }

    [Fact]
    public async Task A_header_turned_off_in_configuration_is_missing_from_live_responses_and_lowers_the_grade()
    {
        await using var all = await StartAsync(Environments.Production);
        await using var noFrameOptions = await StartAsync(Environments.Production, ("Gateway:SecurityHeaders:XFrameOptions:Enabled", "false"));
        await using var noCsp = await StartAsync(Environments.Production, ("Gateway:SecurityHeaders:ContentSecurityPolicy:Enabled", "false"));

        var (allLive, allScore) = await CheckAsync(all);
        var (frameLive, frameScore) = await CheckAsync(noFrameOptions);
        var (_, cspScore) = await CheckAsync(noCsp);

        Assert.Equal(200, allLive.StatusCode);
        Assert.Equal("DENY", allLive.Header("X-Frame-Options"));
        Assert.Equal((100, "A+"), (allScore.Score, allScore.Grade));

        Assert.Null(frameLive.Header("X-Frame-Options"));
        Assert.Equal("missing", frameScore.Headers.Single(h => h.Name == "X-Frame-Options").Status);
        Assert.Equal((92.5, "A"), (frameScore.Score, frameScore.Grade));

        Assert.False(cspScore.Csp.Present);
        Assert.Equal((67.5, "D"), (cspScore.Score, cspScore.Grade)); // the header's 7.5 and the CSP's 25
    }

    [Fact]
    public async Task Hsts_is_off_in_development_unless_turned_on()
    {
        await using var development = await StartAsync(Environments.Development);
        await using var withHsts = await StartAsync(Environments.Development, ("Gateway:SecurityHeaders:StrictTransportSecurity:Enabled", "true"));

        var (plain, _) = await CheckAsync(development);
        var (hsts, score) = await CheckAsync(withHsts);

        Assert.Null(plain.Header("Strict-Transport-Security"));
        Assert.Equal("max-age=31536000; includeSubDomains; preload", hsts.Header("Strict-Transport-Security"));
        Assert.Equal(100, score.Score);
        Assert.Equal(["StrictTransportSecurity"], SecurityStatusApi.HeadersOff(development.Services.GetRequiredService<SecurityHeaderValues>()));
        Assert.Empty(SecurityStatusApi.HeadersOff(withHsts.Services.GetRequiredService<SecurityHeaderValues>()));
    }

    [Fact]
    public void A_header_turned_off_is_removed_even_when_a_downstream_sent_it()
    {
        var options = new SecurityHeaderOptions { XFrameOptions = new() { Enabled = false }, PermissionsPolicy = new() { Enabled = false } };
        var values = SecurityHeaderValues.For(new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { EnvironmentName = Environments.Production }, options);
        var headers = new HeaderDictionary { ["X-Frame-Options"] = "ALLOWALL", ["Permissions-Policy"] = "camera=*" };

        SecurityHeaderWriter.Apply(headers, values, "n");

        Assert.False(headers.ContainsKey("X-Frame-Options"));
        Assert.False(headers.ContainsKey("Permissions-Policy"));
        Assert.Equal("nosniff", headers["X-Content-Type-Options"]);
        Assert.Same(SecurityHeaderValues.Production, SecurityHeaderValues.For(new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { EnvironmentName = Environments.Production }, new SecurityHeaderOptions()));
    }

    [Fact]
    public async Task A_misspelt_header_name_stops_the_gateway_at_start()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            StartAsync(Environments.Production, ("Gateway:SecurityHeaders:XFrameOption:Enabled", "false")));

        Assert.Contains("XFrameOption", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "http://127.0.0.1:8080" }, "http://127.0.0.1:8080/")]
    [InlineData(new[] { "http://+:8080" }, "http://127.0.0.1:8080/")]
    [InlineData(new[] { "http://*:5000" }, "http://127.0.0.1:5000/")]
    [InlineData(new[] { "http://0.0.0.0:80" }, "http://127.0.0.1/")]
    [InlineData(new[] { "http://[::]:8080" }, "http://[::1]:8080/")]
    [InlineData(new[] { "https://127.0.0.1:8443", "http://localhost:8080" }, "http://localhost:8080/")]
    [InlineData(new[] { "https://[::]:8443" }, "https://[::1]:8443/")]
    [InlineData(new[] { "unix:/tmp/gateway.sock" }, null)]
    public void The_probe_reaches_the_server_over_loopback(string[] addresses, string? expected) =>
        Assert.Equal(expected, SecurityHeaderProbe.LoopbackAddress(addresses)?.ToString());
}
