using Microsoft.Extensions.Options;
using SmartHub.CoreService.Apis;
using SmartHub.CoreService.Monitoring;

namespace SmartHub.UnitTests.Monitoring;

public sealed class SlaClassifierTests
{
    private static readonly SlaClassifier s_classifier = Classifier(new MonitoringOptions());

    [Theory]
    [InlineData("/auth/login", "critical")]
    [InlineData("/auth/admin/users/3fa85f64-5717-4562-b3fc-2c963f66afa6/roles", "high")]
    [InlineData("/v1/chat/completions", "critical")]
    [InlineData("/api/v1/credits/balance", "high")]
    [InlineData("/api/v1/usage", "medium")]
    [InlineData("/api/v1/monitoring/overview", "medium")]
    [InlineData("/api/v1/reports/monthly", "low")]
    [InlineData("/mcp", "low")]
    [InlineData("/api/v1/whoami", "medium")] // the default tier
    public void The_guide_s_routes_map_to_their_tiers(string path, string tier) => Assert.Equal(tier, s_classifier.TierOf(path).Name);

    [Theory]
    [InlineData("/auth/admin/users/3fa85f64-5717-4562-b3fc-2c963f66afa6/roles", "/auth/admin/users/{id}/roles")]
    [InlineData("/api/v1/items/12345", "/api/v1/items/{id}")]
    [InlineData("/api/v1/users/someone@example.com", "/api/v1/users/{id}")]
    [InlineData("/auth/api-keys/shk_abcdef", "/auth/api-keys/{id}")]
    [InlineData("/api/v1/objects/0123456789abcdef", "/api/v1/objects/{id}")]
    [InlineData("/api/v1/usage?from=2026-01-01", "/api/v1/usage")]
    [InlineData("/a/b/c/d/e/f/g/h/i/j", "/a/b/c/d/e/f/g/h/**")]
    [InlineData("/", "/")]
    public void Ids_in_paths_become_placeholders(string path, string endpoint) => Assert.Equal(endpoint, SlaClassifier.Normalize(path));

    [Fact]
    public void Not_found_and_endpoints_beyond_the_cap_share_one_name()
    {
        var classifier = Classifier(new MonitoringOptions { MaxEndpoints = 10 });

        Assert.Equal(SlaClassifier.NotFound, classifier.EndpointOf("core", "/api/v1/random-probe", 404));
        var names = Enumerable.Range(0, 15).Select(i => classifier.EndpointOf("core", $"/api/v1/path{(char)('a' + i)}", 200)).ToList();
        Assert.Equal(10, names.Count(n => n != SlaClassifier.Other));
        Assert.Equal(5, names.Count(n => n == SlaClassifier.Other));
        Assert.Equal("/api/v1/patha", classifier.EndpointOf("core", "/api/v1/patha", 200)); // known ones stay
    }

    [Fact]
    public void Configuration_problems_are_named()
    {
        var options = new MonitoringOptions();
        options.Sla.Tiers["critical"] = 0;
        options.Sla.Routes.Add(new SlaRoute { Pattern = "no-slash", Tier = "urgent" });
        options.Sla.DefaultTier = "none";
        var setup = new MonitoringOptionsSetup();
        setup.PostConfigure(null, options);

        var result = setup.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("Monitoring:Sla:Tiers:critical", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("Monitoring:Sla:DefaultTier", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("Monitoring:Sla:Routes:0:Pattern", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("Monitoring:Sla:Routes:0:Tier", StringComparison.Ordinal));
    }

    private static SlaClassifier Classifier(MonitoringOptions options)
    {
        new MonitoringOptionsSetup().PostConfigure(null, options);
        return new SlaClassifier(Options.Create(options));
    }
}

public sealed class ResponseTimeHistogramTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(1.0)]
    [InlineData(57.3)]
    [InlineData(499.9)]
    [InlineData(500.0)]
    [InlineData(65_000.0)]
    public void A_duration_falls_in_the_bucket_whose_bounds_hold_it(double ms)
    {
        var bucket = ResponseTimeHistogram.BucketOf(ms);

        Assert.True(ms <= ResponseTimeHistogram.UpperBound(bucket) * (1 + 1e-9));
        Assert.True(bucket == 0 || ms > ResponseTimeHistogram.UpperBound(bucket - 1));
    }

    [Fact]
    public void Percentiles_are_within_the_documented_error_of_the_exact_nearest_rank()
    {
        var random = new Random(7);
        var values = Enumerable.Range(0, 10_000).Select(_ => Math.Exp(random.NextDouble() * 10)).ToList();
        var counts = new long[ResponseTimeHistogram.Buckets];
        foreach (var value in values)
        {
            counts[ResponseTimeHistogram.BucketOf(value)]++;
        }

        var sorted = values.Order().ToList();
        foreach (var q in new[] { 0.5, 0.9, 0.95, 0.99, 1.0 })
        {
            var exact = sorted[(int)Math.Ceiling(q * sorted.Count) - 1];
            var estimate = ResponseTimeHistogram.Percentile(counts, q, sorted[^1])!.Value;
            Assert.True(Math.Abs(estimate - exact) <= exact * ResponseTimeHistogram.MaxRelativeError, $"q {q}: {estimate} vs {exact}");
        }

        Assert.Null(ResponseTimeHistogram.Percentile(new long[ResponseTimeHistogram.Buckets], 0.5, 0));
    }
}

public sealed class MonitoringPeriodTests
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 22, 10, 17, 30, TimeSpan.Zero);

    [Theory]
    [InlineData("1h", 'm', "2026-11-22T09:17:00Z", "2026-11-22T10:18:00Z")]
    [InlineData("24h", 'h', "2026-11-21T10:00:00Z", "2026-11-22T11:00:00Z")]
    [InlineData("30d", 'd', "2026-10-23T00:00:00Z", "2026-11-23T00:00:00Z")]
    public void A_period_is_read_at_the_grain_its_length_calls_for_widened_to_whole_units(string period, char grain, string from, string to)
    {
        Assert.True(MonitoringApi.TryPeriod(period, null, null, new MonitoringOptions(), s_now, out var range, out _));

        Assert.Equal(grain, range.Grain);
        Assert.Equal(DateTimeOffset.Parse(from, System.Globalization.CultureInfo.InvariantCulture), range.From);
        Assert.Equal(DateTimeOffset.Parse(to, System.Globalization.CultureInfo.InvariantCulture), range.To);
    }

    [Fact]
    public void Minute_detail_older_than_its_retention_is_refused()
    {
        var ok = MonitoringApi.TryPeriod(null, "2026-11-10T00:00:00Z", "2026-11-10T01:00:00Z", new MonitoringOptions(), s_now, out var range, out _);
        var refused = MonitoringApi.TryPeriod(null, "2026-11-10T00:00:00Z", "2026-11-10T01:00:00Z", new MonitoringOptions(), s_now, out _, out var errors, grain: 'm');

        Assert.True(ok);
        Assert.Equal('h', range.Grain); // older than the minute rollups: read per hour
        Assert.False(refused);
        Assert.Contains("from", errors.Keys);
    }
}
