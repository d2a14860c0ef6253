using Microsoft.AspNetCore.Http;
using SmartHub.Gateway.SecurityHeaders;
using SmartHub.Gateway.SecurityStatus;

namespace SmartHub.UnitTests.Gateway;

public sealed class SecurityScoreTests
{
    private const string StrictCsp =
        "default-src 'none'; script-src 'self' 'nonce-abc'; style-src 'self' 'nonce-abc'; object-src 'none'; base-uri 'none'; "
        + "frame-ancestors 'none'; form-action 'self'; report-uri /api/v1/security/csp-report";

    /// <summary>The headers the gateway writes with <paramref name="values"/>, as a client would read them.</summary>
    private static Dictionary<string, string> Sent(SecurityHeaderValues values)
    {
        var headers = new HeaderDictionary();
        SecurityHeaderWriter.Apply(headers, values, "bm9uY2U=");
        return headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
    }

    private static SecurityEvaluation Score(Dictionary<string, string> headers, long? violations = 0) =>
        SecurityScore.Evaluate(name => headers.GetValueOrDefault(name), violations);

    [Theory]
    [InlineData(100, "A+")]
    [InlineData(95, "A+")]
    [InlineData(94.9, "A")]
    [InlineData(90, "A")]
    [InlineData(89.9, "B")]
    [InlineData(80, "B")]
    [InlineData(79.9, "C")]
    [InlineData(70, "C")]
    [InlineData(69.9, "D")]
    [InlineData(60, "D")]
    [InlineData(59.9, "F")]
    [InlineData(0, "F")]
    public void Grades_follow_the_guide_boundaries(double score, string grade) =>
        Assert.Equal(grade, SecurityScore.Grade(score));

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 5)]
    [InlineData(3, 15)]
    [InlineData(4, 20)]
    [InlineData(5, 20)]
    [InlineData(1_000_000, 20)]
    [InlineData(-3, 0)]
    public void Each_distinct_violation_costs_five_points_up_to_twenty(long violations, double penalty) =>
        Assert.Equal(penalty, SecurityScore.Penalty(violations));

    [Fact]
    public void The_weights_are_the_guides()
    {
        Assert.Equal(60, SecurityScore.Required.Count * 7.5);
        Assert.Equal(SecurityScore.CspWeight, SecurityScore.CspChecks.Sum(c => c.Points));
        Assert.Equal(100, SecurityScore.HeadersWeight + SecurityScore.CspWeight + SecurityScore.HstsWeight + SecurityScore.FingerprintWeight);
    }

    [Fact]
    public void The_production_headers_score_a_hundred()
    {
        var result = Score(Sent(SecurityHeaderValues.Production));

        Assert.Equal(100, result.Score);
        Assert.Equal("A+", result.Grade);
        Assert.All(result.Headers, h => Assert.Equal("present", h.Status));
        Assert.All(result.Csp.Checks, c => Assert.True(c.Passed, c.Check));
        Assert.Equal(new HstsReport(true, SecurityScore.OneYearSeconds, true, true, 10, 10), result.Hsts);
        Assert.Empty(result.Fingerprinting.Sent);
    }

    [Fact]
    public void Development_loses_hsts_only()
    {
        var result = Score(Sent(SecurityHeaderValues.Development));

        // 60 - 7.5 (no HSTS header) + 25 (the relaxed CSP still passes every check) + 0 (HSTS) + 5.
        Assert.Equal(82.5, result.Score);
        Assert.Equal("B", result.Grade);
        Assert.Equal("missing", result.Headers.Single(h => h.Name == "Strict-Transport-Security").Status);
        Assert.Equal(25, result.Csp.Points);
    }

    [Fact]
    public void A_missing_header_costs_its_share_and_a_weak_value_half()
    {
        var headers = Sent(SecurityHeaderValues.Production);
        headers.Remove("X-Frame-Options");
        Assert.Equal(92.5, Score(headers).Score);

        headers = Sent(SecurityHeaderValues.Production);
        headers["Cross-Origin-Resource-Policy"] = "cross-origin";
        var weak = Score(headers);
        Assert.Equal(96.3, weak.Score); // 100 - 3.75, rounded to one decimal
        Assert.Equal("weak", weak.Headers.Single(h => h.Name == "Cross-Origin-Resource-Policy").Status);
    }

    [Theory]
    [InlineData("no-referrer", true)]
    [InlineData("strict-origin-when-cross-origin", true)]
    [InlineData("unsafe-url", false)]
    [InlineData("no-referrer-when-downgrade", false)]
    [InlineData("no-referrer, unsafe-url", false)] // browsers apply the last value they know
    [InlineData("unsafe-url, strict-origin", true)]
    [InlineData("unsafe-url, some-future-policy", false)]
    public void Referrer_policies_that_leak_paths_across_origins_are_weak(string value, bool recommended)
    {
        var headers = Sent(SecurityHeaderValues.Production);
        headers["Referrer-Policy"] = value;

        Assert.Equal(recommended ? "present" : "weak", Score(headers).Headers.Single(h => h.Name == "Referrer-Policy").Status);
    }

    [Theory]
    [InlineData(StrictCsp, 25)]
    [InlineData("default-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'; report-to csp", 22.5)] // no nonce
    [InlineData("default-src 'none'; script-src 'self' 'unsafe-inline' 'nonce-a'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; report-uri /r", 21.25)]
    [InlineData("default-src 'none'; script-src 'self' 'unsafe-eval' 'nonce-a'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; report-uri /r", 21.25)]
    [InlineData("default-src 'none'; script-src https: 'nonce-a'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; report-uri /r", 23.75)]
    [InlineData("default-src *; object-src 'none'", 2.5 + 3.75 + 3.75)] // object-src only, and script-src falls back to * (no inline/eval in it)
    [InlineData("upgrade-insecure-requests", 0)] // no script-src and no default-src: anything goes
    public void The_csp_is_scored_by_its_checks(string policy, double points) =>
        Assert.Equal(points, SecurityScore.EvaluateCsp(policy).Points);

    [Fact]
    public void A_missing_csp_scores_nothing_for_strictness()
    {
        var headers = Sent(SecurityHeaderValues.Production);
        headers.Remove("Content-Security-Policy");
        var result = Score(headers);

        Assert.False(result.Csp.Present);
        Assert.Equal(100 - 7.5 - 25, result.Score);
        Assert.Equal("D", result.Grade);
    }

    [Theory]
    [InlineData("max-age=31536000; includeSubDomains; preload", 10)]
    [InlineData("max-age=63072000; includeSubDomains", 8)]
    [InlineData("max-age=31536000", 6)]
    [InlineData("max-age=86400; includeSubDomains; preload", 4)] // under a year: the age earns nothing
    [InlineData("max-age=0; includeSubDomains; preload", 0)] // max-age=0 tells browsers to forget HSTS
    [InlineData("includeSubDomains", 0)]
    public void Hsts_is_scored_by_age_subdomains_and_preload(string value, double points) =>
        Assert.Equal(points, SecurityScore.EvaluateHsts(value).Points);

    [Fact]
    public void Fingerprinting_headers_cost_a_quarter_of_five_each()
    {
        var headers = Sent(SecurityHeaderValues.Production);
        headers["Server"] = "Kestrel";
        headers["X-Powered-By"] = "ASP.NET";

        var result = Score(headers);

        Assert.Equal(["Server", "X-Powered-By"], result.Fingerprinting.Sent);
        Assert.Equal(97.5, result.Score);
    }

    [Fact]
    public void Violations_lower_the_score_at_most_twenty_points_and_unknown_costs_nothing()
    {
        var headers = Sent(SecurityHeaderValues.Production);

        Assert.Equal(95, Score(headers, violations: 1).Score);
        Assert.Equal("B", Score(headers, violations: 10_000).Grade);
        Assert.Equal(80, Score(headers, violations: 10_000).Score);
        Assert.Equal(100, Score(headers, violations: null).Score);
        Assert.Null(Score(headers, violations: null).Violations.Distinct);
    }

    [Fact]
    public void No_headers_at_all_is_an_f_and_never_below_zero()
    {
        var result = Score(new Dictionary<string, string>(), violations: 100);

        Assert.Equal(0, result.Score); // 5 (no fingerprinting headers) - 20
        Assert.Equal("F", result.Grade);
        Assert.All(result.Headers, h => Assert.Equal("missing", h.Status));
    }
}
