using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.FileProviders;
using SmartHub.Gateway.SecurityHeaders;

namespace SmartHub.UnitTests.Gateway;

public sealed class SecurityHeadersTests
{
    private sealed class Env(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;
        public string ApplicationName { get; set; } = "SmartHub.Gateway";
        public string ContentRootPath { get; set; } = "/";
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }

    private static HeaderDictionary Apply(string environment, string nonce = "bm9uY2U=")
    {
        var headers = new HeaderDictionary();
        SecurityHeaderWriter.Apply(headers, SecurityHeaderValues.For(new Env(environment)), nonce);
        return headers;
    }

    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    [InlineData("Development")]
    public void The_fixed_headers_are_the_same_everywhere(string environment)
    {
        var headers = Apply(environment);

        Assert.Equal("nosniff", headers["X-Content-Type-Options"]);
        Assert.Equal("DENY", headers["X-Frame-Options"]);
        Assert.Equal("strict-origin-when-cross-origin", headers["Referrer-Policy"]);
        Assert.Equal("off", headers["X-DNS-Prefetch-Control"]);
        Assert.Equal("noopen", headers["X-Download-Options"]);
        Assert.Equal("none", headers["X-Permitted-Cross-Domain-Policies"]);
        Assert.Equal("0", headers["X-XSS-Protection"]);
        foreach (var feature in new[] { "camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()", "interest-cohort=()" })
        {
            Assert.Contains(feature, headers["Permissions-Policy"].ToString(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public void Outside_development_hsts_and_a_strict_csp(string environment)
    {
        var headers = Apply(environment, "abc123==");

        Assert.Equal("max-age=31536000; includeSubDomains; preload", headers["Strict-Transport-Security"]);
        Assert.Equal(
            "default-src 'none'; script-src 'self' 'nonce-abc123=='; style-src 'self' 'nonce-abc123=='; img-src 'self' data:; "
            + "font-src 'self'; connect-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; "
            + "frame-ancestors 'none'; form-action 'self'; report-uri /api/v1/security/csp-report",
            headers["Content-Security-Policy"]);
    }

    [Fact]
    public void Development_has_no_hsts_and_a_relaxed_but_safe_csp()
    {
        var csp = Apply("Development", "abc123==")["Content-Security-Policy"].ToString();

        Assert.False(Apply("Development").ContainsKey("Strict-Transport-Security"));
        Assert.Contains("script-src 'self' 'nonce-abc123=='", csp, StringComparison.Ordinal);
        Assert.Contains("ws://localhost:*", csp, StringComparison.Ordinal);
        Assert.Contains("object-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("report-uri /api/v1/security/csp-report", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("script-src 'self' 'unsafe-inline'", csp, StringComparison.Ordinal);
    }

    [Fact]
    public void Downstream_values_are_overwritten_and_server_headers_removed()
    {
        var headers = new HeaderDictionary
        {
            ["Server"] = "Kestrel",
            ["X-Powered-By"] = "ASP.NET",
            ["X-Frame-Options"] = "SAMEORIGIN",
            ["Content-Security-Policy"] = "default-src *",
            ["Content-Security-Policy-Report-Only"] = "default-src *",
            ["X-XSS-Protection"] = "1; mode=block",
        };

        SecurityHeaderWriter.Apply(headers, SecurityHeaderValues.Production, "n");

        Assert.False(headers.ContainsKey("Server"));
        Assert.False(headers.ContainsKey("X-Powered-By"));
        Assert.False(headers.ContainsKey("Content-Security-Policy-Report-Only"));
        Assert.Equal("DENY", headers["X-Frame-Options"]);
        Assert.Equal("0", headers["X-XSS-Protection"]);
        Assert.StartsWith("default-src 'none'", headers["Content-Security-Policy"].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Csp_nonces_are_unique_random_base64_of_16_bytes()
    {
        var nonces = Enumerable.Range(0, 10_000).Select(_ => CspNonce.Create()).ToList();

        Assert.Equal(nonces.Count, nonces.Distinct(StringComparer.Ordinal).Count());
        Assert.All(nonces.Take(100), nonce => Assert.Equal(16, Convert.FromBase64String(nonce).Length));
    }

    [Fact]
    public async Task The_nonce_of_a_request_is_the_one_its_csp_names()
    {
        var context = new DefaultHttpContext();
        Assert.Null(context.GetCspNonce());
        var responseStarted = new ResponseStartFeature();
        context.Features.Set<Microsoft.AspNetCore.Http.Features.IHttpResponseFeature>(responseStarted);

        var edge = SmartHub.Gateway.Edge.EdgeResponse.Begin(context, SecurityHeaderValues.Production, TimeProvider.System);
        edge.SetRateLimit("10", "9", "1");
        await responseStarted.StartAsync();

        var nonce = context.GetCspNonce();
        Assert.NotNull(nonce);
        Assert.Contains($"'nonce-{nonce}'", context.Response.Headers.ContentSecurityPolicy.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("ms", context.Response.Headers["X-Response-Time"].ToString(), StringComparison.Ordinal);
        Assert.Equal("9", context.Response.Headers["X-RateLimit-Remaining"]);
    }

    /// <summary>A response feature that runs the OnStarting callbacks on demand.</summary>
    private sealed class ResponseStartFeature : Microsoft.AspNetCore.Http.Features.HttpResponseFeature
    {
        private readonly List<(Func<object, Task> Callback, object State)> _starting = [];

        public override void OnStarting(Func<object, Task> callback, object state) => _starting.Add((callback, state));

        public async Task StartAsync()
        {
            foreach (var (callback, state) in Enumerable.Reverse(_starting))
            {
                await callback(state);
            }
        }
    }
}
