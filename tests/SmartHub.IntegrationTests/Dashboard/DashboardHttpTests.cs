using System.Net;
using SmartHub.Hosting;
using SmartHub.Hosting.Telemetry;

namespace SmartHub.IntegrationTests.Dashboard;

/// <summary>
/// The dashboard over plain HTTP against the real graph: who gets in, what the OTLP receiver accepts, that the
/// services' telemetry arrives, secrets masked until revealed, and the resource actions. (The browser tests drive the
/// same pages in Chromium.)
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardHttpTests(DashboardFixture dashboard)
{
    [Theory]
    [InlineData("/")]
    [InlineData("/traces")]
    [InlineData("/structuredlogs")]
    [InlineData("/metrics")]
    [InlineData("/console")]
    [InlineData("/resources/auth")]
    [InlineData("/resources/auth/env?key=Bootstrap__AdminPassword")]
    public async Task Without_the_token_every_page_sends_the_browser_to_sign_in(string path)
    {
        using var client = dashboard.Anonymous();
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/login", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task A_wrong_token_forged_cookie_or_foreign_host_is_refused()
    {
        using var client = dashboard.Anonymous();
        using (var wrong = await client.GetAsync("/login?t=not-the-token"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.False(wrong.Headers.TryGetValues("Set-Cookie", out _));
        }

        using (var forged = new HttpRequestMessage(HttpMethod.Get, "/"))
        {
            forged.Headers.Add("Cookie", "smarthub_dashboard=" + new string('A', 43));
            using var response = await client.SendAsync(forged);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        }

        using (var action = await client.PostAsync("/resources/mcp/stop", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, action.StatusCode);
        }

        // DNS rebinding: even signed in, a request naming another host is refused.
        using var signedIn = await dashboard.SignedInAsync();
        using var rebinding = new HttpRequestMessage(HttpMethod.Get, "/");
        rebinding.Headers.Host = "evil.example:" + dashboard.DashboardUrl.Port;
        using var refused = await signedIn.SendAsync(rebinding);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

    [Fact]
    public async Task Signed_in_pages_render_and_carry_strict_security_headers()
    {
        using var client = await dashboard.SignedInAsync();
        foreach (var path in new[] { "/", "/traces", "/structuredlogs", "/metrics", "/console", "/resources/gateway" })
        {
            using var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
            Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        }

        using var missing = await client.GetAsync("/traces/" + new string('0', 32));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var unknown = await client.GetAsync("/resources/nobody");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task The_services_send_their_traces_logs_and_metrics_to_the_apphost()
    {
        var traceId = await dashboard.TracedRequestAsync();
        await dashboard.WaitForTraceAsync(traceId, "gateway", "core");

        var spans = dashboard.Telemetry.Trace(traceId);
        var server = Assert.Single(spans, s => s.Resource == "core" && s.Kind == "Server");
        Assert.Equal("/api/v1/credits/balance", server.Attributes["url.path"]);
        Assert.Contains(spans, s => s.Resource == "core" && s.Kind == "Client" && s.Attributes.ContainsKey("db.system.name") || s.Attributes.ContainsKey("db.system"));
        // One tree across the processes: every span but the gateway's server span (whose parent is the caller's) hangs
        // from a span that is held.
        var root = Assert.Single(spans, s => !spans.Any(p => p.SpanId == s.ParentSpanId));
        Assert.Equal(("gateway", "Server"), (root.Resource, root.Kind));

        using var client = await dashboard.SignedInAsync();
        var waterfall = await client.GetStringAsync($"/traces/{traceId}");
        Assert.Contains("GET /api/v1/credits/balance", waterfall, StringComparison.Ordinal);
        Assert.Contains("<span class=\"resource peer\">postgres</span>", waterfall, StringComparison.Ordinal);

        await Hosting.Poll.UntilAsync(
            () => Task.FromResult(dashboard.Telemetry.Instruments("gateway").Any(i => i.Name == "http.server.request.duration")
                                  && dashboard.Telemetry.Logs(l => l.Resource == "core", 1).Count == 1),
            TimeSpan.FromSeconds(20), "the gateway's request duration and core's logs arrive");
    }

    [Fact]
    public async Task The_otlp_receivers_need_the_key_the_apphost_gave_its_services()
    {
        var environment = await EnvironmentOfAsync("core");
        var endpoint = environment["OTEL_EXPORTER_OTLP_ENDPOINT"];
        Assert.Equal("grpc", environment["OTEL_EXPORTER_OTLP_PROTOCOL"]);
        Assert.StartsWith("x-otlp-api-key=", environment["OTEL_EXPORTER_OTLP_HEADERS"], StringComparison.Ordinal);
        Assert.StartsWith("http://127.0.0.1:", endpoint, StringComparison.Ordinal);

        Assert.Equal(dashboard.App.OtlpEndpoints!.Value.Grpc.ToString().TrimEnd('/'), endpoint);

        // OTLP/HTTP: an empty export is valid protobuf, so only the key decides.
        using var http = new HttpClient { BaseAddress = dashboard.App.OtlpEndpoints!.Value.Http };
        async Task<HttpStatusCode> ExportAsync(string? key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/traces") { Content = new ByteArrayContent([]) };
            request.Content.Headers.ContentType = new("application/x-protobuf");
            if (key is not null)
            {
                request.Headers.Add(OtlpApiKey.HeaderName, key);
            }

            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        var key = environment["OTEL_EXPORTER_OTLP_HEADERS"]["x-otlp-api-key=".Length..];
        Assert.Equal(HttpStatusCode.Unauthorized, await ExportAsync(null));
        Assert.Equal(HttpStatusCode.Unauthorized, await ExportAsync(key[..^1] + (key[^1] == 'a' ? 'b' : 'a')));
        Assert.Equal(HttpStatusCode.OK, await ExportAsync(key));
    }

    [Fact]
    public async Task Secrets_in_a_resource_s_environment_are_masked_until_revealed()
    {
        using var client = await dashboard.SignedInAsync();
        var password = dashboard.App.GetParameterValue("admin-password");
        var page = await client.GetStringAsync("/resources/auth");
        Assert.Contains("Bootstrap__AdminPassword", page, StringComparison.Ordinal);
        Assert.DoesNotContain(password, page, StringComparison.Ordinal);
        Assert.Contains("ASPNETCORE_URLS", page, StringComparison.Ordinal);
        Assert.Contains(dashboard.App.GetEndpoint("auth").ToString().TrimEnd('/'), page, StringComparison.Ordinal); // not a secret: shown

        Assert.Equal(password, await client.GetStringAsync("/resources/auth/env?key=Bootstrap__AdminPassword"));
    }

    [Fact]
    public async Task Actions_need_the_dashboard_s_own_origin_and_stop_and_start_a_resource()
    {
        using var client = await dashboard.SignedInAsync();
        using (var crossSite = new HttpRequestMessage(HttpMethod.Post, "/resources/mcp/stop"))
        {
            crossSite.Headers.Add("Origin", "http://evil.example");
            using var refused = await client.SendAsync(crossSite);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        Assert.True(dashboard.App.ResourceNotifications.GetSnapshot("mcp").IsHealthy);
        using (var bad = await PostAsync(client, "/resources/authdb/stop"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode); // a database has no process of its own
        }

        var pid = dashboard.App.ResourceNotifications.GetSnapshot("mcp").ProcessId;
        using (var restart = await PostAsync(client, "/resources/mcp/restart"))
        {
            Assert.Equal(HttpStatusCode.Redirect, restart.StatusCode);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var after = await dashboard.App.ResourceNotifications.WaitForResourceAsync("mcp", s => s.IsHealthy && s.ProcessId != pid, timeout.Token);
        Assert.NotNull(after.ProcessId);
    }

    private async Task<HttpResponseMessage> PostAsync(HttpClient client, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Add("Origin", dashboard.DashboardUrl.GetLeftPart(UriPartial.Authority));
        return await client.SendAsync(request);
    }

    private async Task<Dictionary<string, string>> EnvironmentOfAsync(string resource)
    {
        using var client = await dashboard.SignedInAsync();
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in new[] { "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS" })
        {
            result[key] = await client.GetStringAsync($"/resources/{resource}/env?key={key}");
        }

        return result;
    }
}
