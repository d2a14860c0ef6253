using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SmartHub.UnitTests.Metrics;

/// <summary>The <c>Metrics</c> section: validated at start, and <c>Enabled=false</c> takes <c>/metrics</c> away.</summary>
public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task A_series_cap_out_of_range_stops_the_service_at_start()
    {
        await using var app = Build(("Metrics:MaxSeriesPerMetric", "0"));

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("MaxSeriesPerMetric", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disabled_metrics_have_no_endpoint()
    {
        await using var app = Build(("Metrics:Enabled", "false"));
        app.MapPrometheusMetrics();
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        using var response = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static WebApplication Build(params (string Key, string Value)[] settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        foreach (var (key, value) in settings)
        {
            builder.Configuration[key] = value;
        }

        builder.AddPrometheusMetrics();
        return builder.Build();
    }
}
