using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SmartHub.IntegrationTests.Hosting;
using SmartHub.IntegrationTests.Identity;

namespace SmartHub.IntegrationTests.Security;

/// <summary>
/// Security reporting on the running graph: browsers' CSP reports through the gateway into coredb, the list of
/// violations, and the gateway's security status with its score.
/// </summary>
[Collection(GraphCollection.Name)]
public sealed class SecurityReportingTests(GraphFixture graph)
{
    private const string ReportPath = "/api/v1/security/csp-report";

    private static HttpRequestMessage Report(string body, string contentType, string? correlationId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, ReportPath) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.UserAgent.ParseAdd("SecurityReportingTests/1.0");
        if (correlationId is not null)
        {
            request.Headers.Add("X-Correlation-ID", correlationId);
        }

        return request;
    }

    /// <summary>The stored violations (admin), newest first, of one directive.</summary>
    private async Task<List<JsonElement>> ViolationsAsync(string directive, DateTimeOffset since)
    {
        using var admin = await graph.AdminClientAsync();
        var page = await admin.GetFromJsonAsync<JsonElement>(
            $"/api/v1/security/violations?directive={directive}&since={Uri.EscapeDataString(since.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture))}&limit=200");
        return [.. page.GetProperty("items").EnumerateArray()];
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? mustNotContain = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        if (mustNotContain is not null)
        {
            Assert.DoesNotContain(mustNotContain, body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_report_uri_report_is_stored_with_its_correlation_id_and_listed()
    {
        var since = DateTimeOffset.UtcNow.AddMinutes(-1);
        var correlationId = "csp-" + Guid.NewGuid().ToString("N");
        using var request = Report("""
            {"csp-report": {"document-uri": "https://app.example.com/legacy?token=secret", "referrer": "",
              "violated-directive": "script-src-elem", "effective-directive": "script-src-elem",
              "original-policy": "default-src 'none'; report-uri /api/v1/security/csp-report", "disposition": "enforce",
              "blocked-uri": "https://evil.example/x.js", "status-code": 200, "line-number": 7, "column-number": 9,
              "script-sample": ""}}
            """, "application/csp-report", correlationId);

        using var response = await graph.Gateway.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var stored = Assert.Single(await ViolationsAsync("script-src-elem", since), v => v.GetProperty("correlationId").GetString() == correlationId);
        Assert.Equal("csp-report", stored.GetProperty("format").GetString());
        Assert.Equal("https://app.example.com/legacy", stored.GetProperty("documentUri").GetString()); // no query string
        Assert.Equal("https://evil.example/x.js", stored.GetProperty("blockedUri").GetString());
        Assert.Equal("enforce", stored.GetProperty("disposition").GetString());
        Assert.Equal(7, stored.GetProperty("lineNumber").GetInt64());
        Assert.Equal("SecurityReportingTests/1.0", stored.GetProperty("userAgent").GetString());
    }

    [Fact]
    public async Task A_reporting_api_body_stores_its_csp_violations_and_skips_other_reports()
    {
        var since = DateTimeOffset.UtcNow.AddMinutes(-1);
        var correlationId = "csp-" + Guid.NewGuid().ToString("N");
        var page = $"https://app.example.com/{Guid.NewGuid():N}";
        using var request = Report($$"""
            [
              {"type": "deprecation", "age": 10, "url": "{{page}}", "user_agent": "Chrome/131", "body": {"id": "x", "message": "m"} },
              {"type": "csp-violation", "age": 1200, "url": "{{page}}", "user_agent": "Chrome/131",
               "body": {"documentURL": "{{page}}", "blockedURL": "inline", "effectiveDirective": "style-src-attr",
                        "originalPolicy": "default-src 'none'", "disposition": "enforce", "statusCode": 200,
                        "sourceFile": "{{page}}.js", "lineNumber": 1, "columnNumber": 2, "sample": "color: red", "referrer": ""} }
            ]
            """, "application/reports+json", correlationId);

        using var response = await graph.Gateway.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var stored = Assert.Single(await ViolationsAsync("style-src-attr", since), v => v.GetProperty("correlationId").GetString() == correlationId);
        Assert.Equal("reports+json", stored.GetProperty("format").GetString());
        Assert.Equal(page, stored.GetProperty("documentUri").GetString());
        Assert.Equal("inline", stored.GetProperty("blockedUri").GetString());
        Assert.Equal("color: red", stored.GetProperty("sample").GetString());
        Assert.Equal(1200, stored.GetProperty("ageMs").GetInt64());
        Assert.Equal("Chrome/131", stored.GetProperty("userAgent").GetString());
    }

    [Fact]
    public async Task The_violations_list_pages_with_a_cursor()
    {
        var since = DateTimeOffset.UtcNow.AddMinutes(-1);
        var page = $"https://app.example.com/paged/{Guid.NewGuid():N}";
        for (var i = 0; i < 3; i++)
        {
            using var request = Report($$"""{"csp-report": {"document-uri": "{{page}}", "effective-directive": "frame-src", "blocked-uri": "https://f{{i}}.example/"} }""", "application/csp-report");
            using var response = await graph.Gateway.SendAsync(request);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        using var admin = await graph.AdminClientAsync();
        var seen = new List<long>();
        string? cursor = null;
        do
        {
            var query = $"/api/v1/security/violations?directive=frame-src&limit=1&since={since:yyyy-MM-dd'T'HH:mm:ss'Z'}" + (cursor is null ? "" : $"&cursor={cursor}");
            var body = await admin.GetFromJsonAsync<JsonElement>(query);
            seen.AddRange(body.GetProperty("items").EnumerateArray().Select(v => v.GetProperty("id").GetInt64()));
            cursor = body.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null && seen.Count < 50);

        Assert.True(seen.Count >= 3, $"{seen.Count} violations listed");
        Assert.Equal(seen.OrderByDescending(id => id), seen); // newest first, no repeats
        Assert.Equal(seen.Count, seen.Distinct().Count());

        using var bad = await admin.GetAsync("/api/v1/security/violations?directive=%3Cscript%3E&limit=0&since=yesterday");
        await AssertProblemAsync(bad, HttpStatusCode.BadRequest);
        var errors = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("directive", out _) && errors.TryGetProperty("limit", out _) && errors.TryGetProperty("since", out _), errors.ToString());
    }

    [Fact]
    public async Task A_report_over_64_KiB_is_refused_with_413_declared_or_chunked()
    {
        var big = $$"""{"csp-report": {"document-uri": "https://a.example/", "effective-directive": "img-src", "script-sample": "{{new string('x', 70 * 1024)}}"} }""";

        using var declared = Report(big, "application/csp-report");
        declared.Headers.ExpectContinue = true; // as clients do for big uploads: the gateway answers from Content-Length
        using var declaredResponse = await graph.Gateway.SendAsync(declared);
        await AssertProblemAsync(declaredResponse, HttpStatusCode.RequestEntityTooLarge);

        using var chunkedResponse = await SendChunkedAsync(graph.Gateway, big);
        await AssertProblemAsync(chunkedResponse, HttpStatusCode.RequestEntityTooLarge);

        // CoreService enforces the same bound itself, for callers that reach it without the gateway.
        using var core = graph.App.CreateHttpClient("core");
        using var directResponse = await SendChunkedAsync(core, big);
        await AssertProblemAsync(directResponse, HttpStatusCode.RequestEntityTooLarge);
    }

    /// <summary>
    /// Posts <paramref name="body"/> as a chunked report. The server answers 413 and closes the connection as soon as the
    /// body passes the limit, while the client may still be writing its last chunks: that write can then fail with a
    /// broken pipe before the client reads the answer. Such an attempt is made again (at most 5 times); the answer itself
    /// is what the test checks.
    /// </summary>
    private static async Task<HttpResponseMessage> SendChunkedAsync(HttpClient client, string body)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, ReportPath) { Content = new ChunkedContent(Encoding.UTF8.GetBytes(body), "application/csp-report") };
            try
            {
                return await client.SendAsync(request);
            }
            catch (HttpRequestException ex) when (attempt < 5 && ex.InnerException is IOException)
            {
            }
        }
    }

    [Theory]
    [InlineData("application/csp-report", "{\"csp-report\": <marker-1a2b>")]
    [InlineData("application/csp-report", """{"csp-report": {"effective-directive": "img-src", "blocked-uri": "<marker-1a2b>"} }""")]
    [InlineData("application/csp-report", """{"csp-report": {"document-uri": "https://a/", "effective-directive": "<marker-1a2b>"} }""")]
    [InlineData("application/reports+json", """[{"type": "csp-violation", "body": {"documentURL": "<marker-1a2b>"}}]""")]
    [InlineData("application/reports+json", """{"type": "csp-violation"}""")]
    public async Task A_malformed_report_is_a_400_that_does_not_echo_it(string contentType, string body)
    {
        using var request = Report(body, contentType);

        using var response = await graph.Gateway.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, mustNotContain: "marker-1a2b");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/xml")]
    public async Task A_report_of_another_content_type_is_a_415(string contentType)
    {
        using var request = Report("""{"csp-report": {"document-uri": "https://a/", "effective-directive": "img-src"} }""", contentType);

        using var response = await graph.Gateway.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("https://smarthub.local/problems/unsupported-media-type", problem.GetProperty("type").GetString());
        Assert.Contains("application/reports+json", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_status_of_the_graph_shows_every_header_and_a_grade_by_the_formula()
    {
        using var admin = await graph.AdminClientAsync();

        using var response = await admin.GetAsync("/api/v1/security/status");

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var status = JsonDocument.Parse(text).RootElement;
        foreach (var header in status.GetProperty("headers").EnumerateArray())
        {
            Assert.True(header.GetProperty("status").GetString() == "present", $"{header.GetProperty("name")}: {header}");
        }

        var breakdown = status.GetProperty("breakdown").EnumerateArray().ToDictionary(p => p.GetProperty("part").GetString()!, p => p.GetProperty("points").GetDouble());
        Assert.Equal(60, breakdown["headers"]);
        Assert.Equal(25, breakdown["csp"]);
        Assert.Equal(10, breakdown["hsts"]);
        Assert.Equal(5, breakdown["fingerprinting"]);

        // The graph is shared: other tests send reports, so the penalty is whatever they left, within its cap.
        var violations = status.GetProperty("violations");
        Assert.True(violations.GetProperty("available").GetBoolean(), violations.ToString());
        Assert.Equal(24, violations.GetProperty("windowHours").GetDouble());
        var penalty = violations.GetProperty("penalty").GetDouble();
        Assert.InRange(penalty, 0, 20);
        Assert.Equal(Math.Min(20, 5 * violations.GetProperty("distinct").GetInt64()), penalty);
        Assert.Equal(100 - penalty, status.GetProperty("score").GetDouble());
        var expectedGrade = (100 - penalty) switch { >= 95 => "A+", >= 90 => "A", _ => "B" };
        Assert.Equal(expectedGrade, status.GetProperty("grade").GetString());
        Assert.Equal("Development", status.GetProperty("environment").GetString());
        Assert.Empty(status.GetProperty("headersOff").EnumerateArray());
        Assert.EndsWith("/alive", status.GetProperty("checkedUrl").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_violation_raises_the_count_the_status_reports()
    {
        using var admin = await graph.AdminClientAsync();
        var before = (await admin.GetFromJsonAsync<JsonElement>("/api/v1/security/status")).GetProperty("violations");

        using (var report = Report($$"""{"csp-report": {"document-uri": "https://app.example.com/{{Guid.NewGuid():N}}", "effective-directive": "connect-src", "blocked-uri": "https://tracker.example/"} }""", "application/csp-report"))
        using (var response = await graph.Gateway.SendAsync(report))
        {
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        var after = (await admin.GetFromJsonAsync<JsonElement>("/api/v1/security/status")).GetProperty("violations");
        Assert.True(after.GetProperty("count").GetInt64() > before.GetProperty("count").GetInt64());
        Assert.True(after.GetProperty("distinct").GetInt64() > before.GetProperty("distinct").GetInt64());
    }

    [Theory]
    [InlineData("/api/v1/security/status")]
    [InlineData("/api/v1/security/violations")]
    public async Task Only_system_readers_see_the_security_reports(string path)
    {
        var user = await Callers.UserAsync(graph);
        using var anonymous = graph.Client();
        using var plain = graph.Client(bearer: user.Tokens.AccessToken);
        using var admin = await graph.AdminClientAsync();
        using var manager = graph.Client(bearer: (await Callers.ManagerAsync(graph)).Tokens.AccessToken, replica: 2);

        using var anonymousResponse = await anonymous.GetAsync(path);
        using var userResponse = await plain.GetAsync(path);
        using var adminResponse = await admin.GetAsync(path);
        using var managerResponse = await manager.GetAsync(path);

        await AssertProblemAsync(anonymousResponse, HttpStatusCode.Unauthorized);
        await AssertProblemAsync(userResponse, HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, adminResponse.StatusCode);
        Assert.Equal(HttpStatusCode.OK, managerResponse.StatusCode);
    }

    [Fact]
    public async Task The_violation_summary_is_internal()
    {
        using var core = graph.App.CreateHttpClient("core");

        using var stranger = await core.GetAsync("/internal/security/violations/summary?since=2026-01-01");
        using var viaGateway = await graph.Gateway.GetAsync("/internal/security/violations/summary?since=2026-01-01");

        Assert.Equal(HttpStatusCode.Unauthorized, stranger.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, viaGateway.StatusCode);
    }

    /// <summary>A body sent with <c>Transfer-Encoding: chunked</c>: its length is not declared up front.</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly byte[] _body;

        public ChunkedContent(byte[] body, string contentType)
        {
            _body = body;
            Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var offset = 0; offset < _body.Length; offset += 8192)
            {
                await stream.WriteAsync(_body.AsMemory(offset, Math.Min(8192, _body.Length - offset)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
