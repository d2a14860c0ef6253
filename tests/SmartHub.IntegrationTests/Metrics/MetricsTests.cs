using System.Net;
using System.Net.Http.Json;
using SmartHub.IntegrationTests.Hosting;
using SmartHub.Tests.Shared;

namespace SmartHub.IntegrationTests.Metrics;

/// <summary>
/// <c>/metrics</c> of every service after real traffic through the gateway, read with a strict parser of the text
/// format; the internal services answer on their own ports, the gateway only to <c>system:read</c>.
/// </summary>
[Collection(GraphCollection.Name)]
public sealed class MetricsTests(GraphFixture graph)
{
    private const string ContentType = "text/plain; version=0.0.4; charset=utf-8";
    private const string Duration = "http_server_request_duration_seconds";

    /// <summary>What deploy/prometheus/smarthub-alerts.yml's expressions read from every service.</summary>
    private static readonly string[] AlertInputs =
    [
        Duration + "_bucket", Duration + "_count",
        "dotnet_process_cpu_time_seconds_total", "dotnet_process_cpu_count", "dotnet_process_memory_working_set_bytes",
    ];

    [Fact]
    public async Task Every_service_exposes_request_durations_runtime_and_its_own_metrics_after_traffic()
    {
        var user = await graph.NewUserAsync();
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        (await client.GetAsync("/auth/me")).EnsureSuccessStatusCode();
        (await client.GetAsync("/api/v1/whoami")).EnsureSuccessStatusCode();
        var chat = new { model = "mock-fast", temperature = 0, messages = new[] { new { role = "user", content = $"Count me {Guid.NewGuid():N}" } } };
        (await client.PostAsJsonAsync("/v1/chat/completions", chat)).EnsureSuccessStatusCode();

        // A request's duration is recorded as it ends, just after its response has left.
        var auth = await ScrapeUntilAsync("auth", "/auth/me");
        var core = await ScrapeUntilAsync("core", "/api/v1/whoami");
        var mcp = await ScrapeUntilAsync("mcp", "/v1/chat/completions");

        foreach (var (service, scrape, route) in new[] { ("auth", auth, "/auth/me"), ("core", core, "/api/v1/whoami"), ("mcp", mcp, "/v1/chat/completions") })
        {
            Assert.Equal("histogram", scrape.Types[Duration]);
            var buckets = scrape.Named(Duration + "_bucket").Where(s => s.Labels.GetValueOrDefault("http_route") == route).ToList();
            Assert.True(buckets.Count > 0, $"{service}: no {Duration}_bucket for {route}");
            Assert.Contains(buckets, s => s.Labels["le"] == "0.5");
            Assert.Contains(buckets, s => s.Labels["le"] == "+Inf" && s.Value >= 1 && s.Labels["http_request_method"] is "GET" or "POST");
            Assert.DoesNotContain(scrape.Named(Duration + "_count"), s => s.Labels.GetValueOrDefault("http_route") == "/metrics"); // scrapes do not time themselves
            Assert.All(AlertInputs, name => Assert.True(scrape.Named(name).Any(), $"{service}: no {name}"));
        }

        // McpServer's chat instruments: the request, its tokens, the cache lookup (temperature 0), the provider attempt.
        Assert.Contains(mcp.Named("smarthub_mcp_chat_requests_total"), s =>
            s.Labels["smarthub_model"] == "mock-fast" && s.Labels["smarthub_outcome"] == "ok" && s.Labels["smarthub_provider"] == "mock/mock-fast");
        Assert.Contains(mcp.Named("smarthub_mcp_chat_tokens_total"), s => s.Labels["smarthub_token_type"] == "completion" && s.Value > 0);
        Assert.Contains(mcp.Named("smarthub_mcp_cache_lookups_total"), s => s.Labels["smarthub_cache_result"] == "miss");
        Assert.NotEmpty(mcp.Named("smarthub_mcp_routing_attempt_duration_seconds_count"));
        Assert.DoesNotContain(mcp.Samples, s => s.Labels.Values.Contains(user.Id) || s.Labels.Values.Contains(user.Email)); // never a user
    }

    [Fact]
    public async Task Gateway_metrics_need_system_read()
    {
        var manager = await graph.NewUserAsync("manager");
        var (_, scraperKey) = await graph.NewApiKeyAsync(manager, scopes: ["system:read"]);
        var (_, chatKey) = await graph.NewApiKeyAsync(manager);
        var user = await graph.NewUserAsync();

        using var anonymous = graph.Client();
        using var plainUser = graph.Client(bearer: user.Tokens.AccessToken);
        using var chatOnly = graph.Client(apiKey: chatKey);
        using var admin = await graph.AdminClientAsync();
        using var scraper = graph.Client(apiKey: scraperKey);

        using (var response = await anonymous.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.DoesNotContain(Duration, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var response = await plainUser.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.DoesNotContain(Duration, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var response = await chatOnly.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        (await admin.GetAsync("/api/v1/whoami")).EnsureSuccessStatusCode();
        await Poll.UntilAsync(
            async () => HasRoute(await ReadAsync(admin), "/api/{**rest}"), TimeSpan.FromSeconds(10), "the gateway reports its route /api/{**rest}");
        var byScraper = await ReadAsync(scraper);

        Assert.NotEmpty(byScraper.Named(Duration + "_count"));
        Assert.All(AlertInputs, name => Assert.True(byScraper.Named(name).Any(), $"gateway: no {name}"));
        Assert.True(byScraper.Named("smarthub_gateway_samples_written_total").Any() || byScraper.Named("smarthub_gateway_samples_dropped_total").Any(),
            "the gateway's own instruments");
    }

    /// <summary>Scrapes <paramref name="service"/> on its own port until its request durations include <paramref name="route"/>.</summary>
    private async Task<PrometheusExposition> ScrapeUntilAsync(string service, string route)
    {
        using var client = graph.App.CreateHttpClient(service);
        PrometheusExposition? scrape = null;
        await Poll.UntilAsync(async () => HasRoute(scrape = await ReadAsync(client), route), TimeSpan.FromSeconds(10), $"{service} reports {route}");
        return scrape!;
    }

    private static bool HasRoute(PrometheusExposition scrape, string route) =>
        scrape.Named(Duration + "_count").Any(s => s.Labels.GetValueOrDefault("http_route") == route);

    private static async Task<PrometheusExposition> ReadAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/metrics");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{client.BaseAddress}metrics: {(int)response.StatusCode} {body}");
        Assert.Equal(ContentType, response.Content.Headers.ContentType?.ToString());
        return PrometheusExposition.Parse(body);
    }
}
