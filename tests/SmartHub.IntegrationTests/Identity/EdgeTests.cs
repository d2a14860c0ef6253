using System.Net;
using System.Net.Http.Json;
using System.Text;
using SmartHub.IntegrationTests.Hosting;

namespace SmartHub.IntegrationTests.Identity;

/// <summary>What every response from the gateway carries, and how it answers bad input.</summary>
[Collection(GraphCollection.Name)]
public sealed class EdgeTests(GraphFixture graph)
{
    private static readonly Dictionary<string, string> Required = new()
    {
        ["X-Content-Type-Options"] = "nosniff",
        ["X-Frame-Options"] = "DENY",
        ["Referrer-Policy"] = "strict-origin-when-cross-origin",
        ["X-DNS-Prefetch-Control"] = "off",
        ["X-Download-Options"] = "noopen",
        ["X-Permitted-Cross-Domain-Policies"] = "none",
        ["X-XSS-Protection"] = "0",
    };

    public static TheoryData<string, string> Responses => new()
    {
        { "GET", "/health" },                       // the gateway's own
        { "GET", "/auth/.well-known/jwks.json" },   // proxied
        { "GET", "/auth/me" },                      // 401
        { "GET", "/no/such/route" },                // 404
    };

    [Theory]
    [MemberData(nameof(Responses))]
    public async Task Every_response_carries_the_security_headers(string method, string path)
    {
        using var response = await graph.Gateway.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        foreach (var (name, value) in Required)
        {
            Assert.True(response.Headers.TryGetValues(name, out var values), $"{name} missing on {path} ({(int)response.StatusCode})");
            Assert.Equal(value, Assert.Single(values));
        }

        Assert.Contains("camera=()", response.Headers.GetValues("Permissions-Policy").Single(), StringComparison.Ordinal);
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("'nonce-", csp, StringComparison.Ordinal);
        Assert.Contains("report-uri /api/v1/security/csp-report", csp, StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Server"), "no Server header");
        Assert.True(response.Headers.Contains("X-Response-Time"));
        Assert.True(response.Headers.Contains("X-Correlation-ID"));
    }

    [Fact]
    public async Task A_proxied_request_leaves_its_response_time_sample_which_CoreService_stores()
    {
        var user = await graph.NewUserAsync();
        using var client = graph.Client(bearer: user.Tokens.AccessToken, replica: 2);
        var correlationId = Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/whoami");
        request.Headers.Add("X-Correlation-ID", correlationId);
        var sent = DateTimeOffset.UtcNow;
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // The gateway writes batches to telemetry:response-times every 250 ms; CoreService stores them in coredb.
        await using var coredb = Npgsql.NpgsqlDataSource.Create((await graph.App.GetConnectionStringAsync("coredb"))!);
        (string Service, string Method, string Endpoint, string Path, short Status, double DurationMs, string Tier, DateTime At)? found = null;
        await Poll.UntilAsync(async () =>
        {
            await using var command = coredb.CreateCommand(
                "SELECT service, method, endpoint, path, status, duration_ms, tier, at FROM response_time_samples WHERE correlation_id = $1");
            command.Parameters.AddWithValue(correlationId);
            await using var reader = await command.ExecuteReaderAsync();
            if (await reader.ReadAsync())
            {
                found = (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt16(4), reader.GetDouble(5), reader.GetString(6), reader.GetDateTime(7));
            }

            return found is not null;
        }, TimeSpan.FromSeconds(10), "the sample of the request in coredb");

        var s = found!.Value;
        Assert.Equal(("core", "GET", "/api/v1/whoami", "/api/v1/whoami", (short)200), (s.Service, s.Method, s.Endpoint, s.Path, s.Status));
        Assert.Equal("medium", s.Tier);
        Assert.InRange(s.DurationMs, 0.001, 10_000);
        Assert.InRange(new DateTimeOffset(s.At, TimeSpan.Zero), sent.AddSeconds(-1), sent.AddSeconds(60));
    }

    [Fact]
    public async Task Csp_nonce_is_new_on_every_response()
    {
        using var first = await graph.Gateway.GetAsync("/health");
        using var second = await graph.Gateway.GetAsync("/health");

        Assert.NotEqual(first.Headers.GetValues("Content-Security-Policy").Single(), second.Headers.GetValues("Content-Security-Policy").Single());
    }

    [Fact]
    public async Task A_well_formed_correlation_id_is_kept_and_a_bad_one_replaced()
    {
        using var good = new HttpRequestMessage(HttpMethod.Get, "/health") { Headers = { { "X-Correlation-ID", "test-correlation-123" } } };
        using var bad = new HttpRequestMessage(HttpMethod.Get, "/health") { Headers = { { "X-Correlation-ID", "<script>alert(1)</script>" } } };

        using var kept = await graph.Gateway.SendAsync(good);
        using var replaced = await graph.Gateway.SendAsync(bad);

        Assert.Equal("test-correlation-123", kept.Headers.GetValues("X-Correlation-ID").Single());
        Assert.NotEqual("<script>alert(1)</script>", replaced.Headers.GetValues("X-Correlation-ID").Single());
    }

    [Fact]
    public async Task The_callers_trace_context_reaches_the_service_behind_the_gateway()
    {
        var traceId = System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();
        using var client = await graph.AdminClientAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/no-such-resource");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{System.Diagnostics.ActivitySpanId.CreateRandom().ToHexString()}-01");

        using var response = await client.SendAsync(request); // proxied: CoreService answers the 404

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        Assert.Equal(traceId, problem.GetProperty("traceId").GetString());
    }

    [Fact]
    public async Task Forged_internal_identity_headers_grant_nothing()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/auth/admin/users")
        {
            Headers =
            {
                { "X-Internal-Token", graph.App.GetParameterValue("internal-token") },
                { "X-SmartHub-User-Id", Guid.NewGuid().ToString() },
                { "X-User-Roles", "admin" },
            },
        };

        using var response = await graph.Gateway.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task A_client_sent_x_forwarded_for_does_not_choose_the_audited_address()
    {
        // No trusted proxies are configured: the client is the TCP peer, whatever X-Forwarded-For says.
        var user = await graph.NewUserAsync();
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/auth/login")
        {
            Content = JsonContent.Create(new { email = user.Email, password = user.Password }),
            Headers = { { "X-Forwarded-For", "203.0.113.7" } },
        })
        using (var login = await graph.Gateway.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        }

        using var admin = await graph.AdminClientAsync();
        var audit = await admin.GetFromJsonAsync<System.Text.Json.JsonElement>($"/auth/admin/audit?userId={user.Id}&type=login.succeeded");
        var addresses = audit.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("ip").GetString()).ToList();
        Assert.NotEmpty(addresses);
        Assert.All(addresses, ip => Assert.Equal("127.0.0.1", ip));
    }

    [Fact]
    public async Task Oversized_body_is_refused_with_413()
    {
        var big = new string('x', 4 * 1024 * 1024);
        // Expect: 100-continue, as clients do for big uploads: the gateway answers from Content-Length, before the body.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/login")
        {
            Content = new StringContent($"{{\"email\":\"{big}\"}}", Encoding.UTF8, "application/json"),
            Headers = { ExpectContinue = true },
        };
        using var response = await graph.Gateway.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("{}")]
    [InlineData("{\"email\":\"not-an-email\",\"password\":\"long enough password\"}")]
    [InlineData("{\"email\":\"a@b.example\",\"password\":\"short\"}")]
    [InlineData("[1,2,3]")]
    public async Task Bad_registration_input_is_a_400_problem(string json)
    {
        using var response = await graph.Gateway.PostAsync("/auth/register", new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("   at ", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Services_reject_direct_calls_without_identity()
    {
        using var core = graph.App.CreateHttpClient("core");
        using var auth = graph.App.CreateHttpClient("auth");

        Assert.Equal(HttpStatusCode.Unauthorized, (await core.GetAsync("/api/status")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await auth.GetAsync("/auth/admin/users")).StatusCode);
        using var verify = await auth.PostAsJsonAsync("/internal/auth/api-keys/verify", new { key = "shk_whatever" });
        Assert.Equal(HttpStatusCode.Unauthorized, verify.StatusCode);
    }
}
