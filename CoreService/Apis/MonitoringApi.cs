using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using SmartHub.CoreService.Monitoring;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.CoreService.Apis;

public sealed record EndpointSummary(
    string Service, string Method, string Endpoint, string Tier, int ThresholdMs, long Count, double? AverageMs,
    double? P50Ms, double? P90Ms, double? P95Ms, double? P99Ms, double MaxMs, double ErrorRatePercent, double ClientErrorRatePercent,
    bool MeetsSla, IReadOnlyDictionary<string, long>? StatusCodes, double? BaselineP95Ms, bool Degraded);

public sealed record MonitoringOverview(
    DateTimeOffset From, DateTimeOffset To, string Granularity, long TotalRequests, double RequestsPerMinute, double? AverageResponseTimeMs,
    double? P50Ms, double? P95Ms, double? P99Ms, double ErrorRatePercent, double SlaCompliancePercent, double RequestsWithinSlaPercent,
    long Violations, IReadOnlyList<EndpointSummary> SlowestEndpoints);

public sealed record TierSummary(string Tier, int ThresholdMs, long Count, double? AverageMs, double? P95Ms, long Endpoints, long EndpointsMeetingSla, double RequestsWithinSlaPercent);

public sealed record ResponseTimeOverview(
    DateTimeOffset From, DateTimeOffset To, string Granularity, long Count, double? AverageMs, double? P50Ms, double? P90Ms, double? P95Ms, double? P99Ms,
    double MaxMs, IReadOnlyList<TierSummary> Tiers, long DegradedEndpoints, double PercentileMaxRelativeError);

public sealed record EndpointList(DateTimeOffset From, DateTimeOffset To, string Granularity, IReadOnlyList<EndpointSummary> Items, double PercentileMaxRelativeError);

public sealed record TrendPoint(DateTimeOffset Start, long Count, double? AverageMs, double? P50Ms, double? P90Ms, double? P95Ms, double? P99Ms, double ErrorRatePercent);

public sealed record TrendList(DateTimeOffset From, DateTimeOffset To, string Granularity, string Bucket, IReadOnlyList<TrendPoint> Items);

public sealed record ViolationList(DateTimeOffset From, DateTimeOffset To, string Granularity, IReadOnlyList<SlaViolation> Items);

public sealed record BaselineList(IReadOnlyList<PerformanceBaseline> Items);

public sealed record ComparisonItem(
    string Label, DateTimeOffset From, DateTimeOffset To, long Count, double? AverageMs, double? P50Ms, double? P90Ms, double? P95Ms, double? P99Ms,
    double ErrorRatePercent, double RequestsWithinSlaPercent, long Endpoints);

public sealed record Comparison(string By, string Granularity, IReadOnlyList<ComparisonItem> Items);

/// <summary>
/// The monitoring and SLA API (permission monitoring:read): response times of every endpoint behind the gateway, from
/// the rollups of its samples (<see cref="MonitoringQueries"/>). A period is <c>period</c> (15m, 1h, 24h, 7d, 30d…)
/// back from now, or <c>from</c>/<c>to</c> (ISO 8601 with an offset); it is read per minute up to 6 hours (within the
/// minute rollups' retention), per hour up to 14 days, per day beyond, and widened to whole minutes, hours or days.
/// Percentiles come from log-scale histograms, within 5% of the exact value; baselines are exact.
/// </summary>
public static class MonitoringApi
{
    private const int MaxLimit = 1000;

    public static IEndpointRouteBuilder MapMonitoringApi(this IEndpointRouteBuilder app)
    {
        var monitoring = app.MapGroup("/api/v1/monitoring").RequirePermission(Permissions.MonitoringRead).WithTags("Monitoring");
        monitoring.MapGet("/overview", OverviewAsync).WithName("GetMonitoringOverview")
            .WithSummary("Average response time, SLA compliance, slowest endpoints, violations, requests per minute and error rate over a period.");
        var responseTime = monitoring.MapGroup("/response-time");
        responseTime.MapGet("/overview", ResponseTimeOverviewAsync).WithName("GetResponseTimeOverview")
            .WithSummary("Percentiles over every endpoint, and per SLA tier: threshold, requests and endpoints within it.");
        responseTime.MapGet("/endpoints", EndpointsAsync).WithName("GetResponseTimeEndpoints")
            .WithSummary("Per endpoint: P50/P90/P95/P99, average, count, error rates, status codes, baseline and degradation (?service, tier, method, sort, order, limit).");
        responseTime.MapGet("/trends", TrendsAsync).WithName("GetResponseTimeTrends")
            .WithSummary("Time buckets (?bucket=1m|5m|15m|1h|6h|1d) with percentiles, for every endpoint or one (?service, method, endpoint, tier).");
        responseTime.MapGet("/violations", ViolationsAsync).WithName("GetSlaViolations")
            .WithSummary("Recent windows (minutes; hours beyond the minute rollups) whose P95 exceeded the tier's threshold, newest first.");
        responseTime.MapGet("/compare", CompareAsync).WithName("CompareResponseTimes")
            .WithSummary("Side by side: ?by=service (every service), ?by=endpoint&endpoint=/a&endpoint=/b (2-10 endpoints), or ?by=period (this period and the one before it, or ?against=1d|7d earlier).");
        responseTime.MapGet("/baselines", BaselinesAsync).WithName("GetPerformanceBaselines")
            .WithSummary("Daily baselines per endpoint (exact P50/P90/P95/P99 and average of one UTC day); ?day=yyyy-MM-dd, else each endpoint's latest.");
        return app;
    }

    public static async Task<Results<Ok<MonitoringOverview>, ValidationProblem>> OverviewAsync(
        string? period, string? from, string? to, MonitoringQueries queries, IOptions<MonitoringOptions> options, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (!TryPeriod(period, from, to, options.Value, timeProvider.GetUtcNow(), out var range, out var errors))
        {
            return CoreProblems.Invalid(errors);
        }

        var endpoints = await queries.EndpointsAsync(range, new MonitoringFilter(), cancellationToken);
        var violations = await queries.ViolationCountAsync(range, new MonitoringFilter(), cancellationToken);
        var total = Merge(endpoints);
        var baselines = await BaselinesByEndpointAsync(queries, cancellationToken);
        var minutes = Math.Max(1, (range.To - range.From).TotalMinutes);
        return TypedResults.Ok(new MonitoringOverview(
            range.From, range.To, Granularity(range), total.Count, Round(total.Count / minutes), Round(total.AverageMs),
            Round(total.Percentile(0.5)), Round(total.Percentile(0.95)), Round(total.Percentile(0.99)),
            Percent(total.Errors, total.Count),
            endpoints.Count == 0 ? 100 : Round(100.0 * endpoints.Count(e => e.MeetsSla) / endpoints.Count),
            total.Count == 0 ? 100 : Round(100.0 * (total.Count - total.Slow) / total.Count),
            violations,
            [.. endpoints.OrderByDescending(e => e.Percentile(0.95)).Take(5).Select(e => Summary(e, null, baselines, options.Value))]));
    }

    public static async Task<Results<Ok<ResponseTimeOverview>, ValidationProblem>> ResponseTimeOverviewAsync(
        string? period, string? from, string? to, MonitoringQueries queries, IOptions<MonitoringOptions> options, SlaClassifier classifier,
        TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (!TryPeriod(period, from, to, options.Value, timeProvider.GetUtcNow(), out var range, out var errors))
        {
            return CoreProblems.Invalid(errors);
        }

        var endpoints = await queries.EndpointsAsync(range, new MonitoringFilter(), cancellationToken);
        var baselines = await BaselinesByEndpointAsync(queries, cancellationToken);
        var total = Merge(endpoints);
        var tiers = classifier.Tiers.Values.OrderBy(t => t.ThresholdMs).Select(tier =>
        {
            var members = endpoints.Where(e => string.Equals(e.Tier, tier.Name, StringComparison.OrdinalIgnoreCase)).ToList();
            var merged = Merge(members);
            return new TierSummary(tier.Name, tier.ThresholdMs, merged.Count, Round(merged.AverageMs), Round(merged.Percentile(0.95)),
                members.Count, members.Count(m => m.MeetsSla), merged.Count == 0 ? 100 : Round(100.0 * (merged.Count - merged.Slow) / merged.Count));
        }).ToList();
        return TypedResults.Ok(new ResponseTimeOverview(
            range.From, range.To, Granularity(range), total.Count, Round(total.AverageMs), Round(total.Percentile(0.5)), Round(total.Percentile(0.9)),
            Round(total.Percentile(0.95)), Round(total.Percentile(0.99)), Round(total.MaxMs), tiers,
            endpoints.Count(e => Summary(e, null, baselines, options.Value).Degraded), Round(ResponseTimeHistogram.MaxRelativeError)));
    }

    public static async Task<Results<Ok<EndpointList>, ValidationProblem>> EndpointsAsync(
        string? period, string? from, string? to, string? service, string? tier, string? method, string? sort, string? order, int? limit,
        MonitoringQueries queries, IOptions<MonitoringOptions> options, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (!TryPeriod(period, from, to, options.Value, timeProvider.GetUtcNow(), out var range, out var errors))
        {
            return CoreProblems.Invalid(errors);
        }

        Func<EndpointSummary, object?>? key = (sort ?? "p95").ToLowerInvariant() switch
        {
            "p50" => e => e.P50Ms,
            "p90" => e => e.P90Ms,
            "p95" => e => e.P95Ms,
            "p99" => e => e.P99Ms,
            "avg" or "average" => e => e.AverageMs,
            "count" => e => e.Count,
            "errors" => e => e.ErrorRatePercent,
            "endpoint" or "name" => e => e.Endpoint,
            _ => null,
        };
        if (key is null)
        {
            errors["sort"] = ["sort must be one of p50, p90, p95, p99, avg, count, errors, endpoint."];
        }

        var descending = (order ?? (sort is "endpoint" or "name" ? "asc" : "desc")).ToLowerInvariant() switch
        {
            "desc" => true,
            "asc" => false,
            _ => (bool?)null,
        };
        if (descending is null)
        {
            errors["order"] = ["order must be asc or desc."];
        }

        var take = limit ?? 100;
        if (take is < 1 or > MaxLimit)
        {
            errors["limit"] = [$"limit must be between 1 and {MaxLimit}."];
        }

        if (errors.Count > 0)
        {
            return CoreProblems.Invalid(errors);
        }

        var filter = new MonitoringFilter(service, tier?.ToLowerInvariant(), method?.ToUpperInvariant());
        var endpoints = await queries.EndpointsAsync(range, filter, cancellationToken);
        var statuses = await queries.StatusesAsync(range, filter, cancellationToken);
        var baselines = await BaselinesByEndpointAsync(queries, cancellationToken);
        var items = endpoints.Select(e => Summary(e, statuses.GetValueOrDefault((e.Service, e.Method, e.Endpoint)), baselines, options.Value));
        items = descending == true ? items.OrderByDescending(key!) : items.OrderBy(key!);
        return TypedResults.Ok(new EndpointList(range.From, range.To, Granularity(range), [.. items.Take(take)], Round(ResponseTimeHistogram.MaxRelativeError)));
    }

    public static async Task<Results<Ok<TrendList>, ValidationProblem>> TrendsAsync(
        string? period, string? from, string? to, string? bucket, string? service, string? tier, string? method, string? endpoint,
        MonitoringQueries queries, IOptions<MonitoringOptions> options, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var slot = ParseDuration(bucket ?? "5m");
        var errors = new Dictionary<string, string[]>();
        if (slot is not { } size || size < TimeSpan.FromMinutes(1) || size > TimeSpan.FromDays(31))
        {
            return CoreProblems.Invalid("bucket", "bucket must be a duration like 1m, 5m, 1h or 1d, from 1 minute to 31 days.");
        }

        var grain = size < TimeSpan.FromHours(1) || size.Ticks % TimeSpan.TicksPerHour != 0 ? 'm' : size < TimeSpan.FromDays(1) || size.Ticks % TimeSpan.TicksPerDay != 0 ? 'h' : 'd';
        if (!TryPeriod(period, from, to, options.Value, timeProvider.GetUtcNow(), out var range, out errors, grain))
        {
            return CoreProblems.Invalid(errors);
        }

        if ((range.To - range.From).Ticks / size.Ticks > 2_000)
        {
            return CoreProblems.Invalid("bucket", "At most 2000 buckets: choose a larger bucket or a shorter period.");
        }

        var filter = new MonitoringFilter(service, tier?.ToLowerInvariant(), method?.ToUpperInvariant(), endpoint);
        var points = await queries.TrendsAsync(range, size, filter, cancellationToken);
        return TypedResults.Ok(new TrendList(range.From, range.To, Granularity(range), bucket ?? "5m",
            [.. points.Select(p => new TrendPoint(p.Start, p.Stats.Count, Round(p.Stats.AverageMs), Round(p.Stats.Percentile(0.5)), Round(p.Stats.Percentile(0.9)),
                Round(p.Stats.Percentile(0.95)), Round(p.Stats.Percentile(0.99)), Percent(p.Stats.Errors, p.Stats.Count)))]));
    }

    public static async Task<Results<Ok<ViolationList>, ValidationProblem>> ViolationsAsync(
        string? period, string? from, string? to, string? service, string? tier, string? method, int? limit,
        MonitoringQueries queries, IOptions<MonitoringOptions> options, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var grain = (from is null ? now - (ParseDuration(period ?? "24h") ?? TimeSpan.Zero) : now) >= now - options.Value.MinuteRollupRetention ? 'm' : 'h';
        if (!TryPeriod(period ?? (from is null ? "24h" : null), from, to, options.Value, now, out var range, out var errors, grain))
        {
            return CoreProblems.Invalid(errors);
        }

        var take = limit ?? 100;
        if (take is < 1 or > MaxLimit)
        {
            return CoreProblems.Invalid("limit", $"limit must be between 1 and {MaxLimit}.");
        }

        var items = await queries.ViolationsAsync(range, new MonitoringFilter(service, tier?.ToLowerInvariant(), method?.ToUpperInvariant()), take, cancellationToken);
        return TypedResults.Ok(new ViolationList(range.From, range.To, Granularity(range), items));
    }

    public static async Task<Results<Ok<Comparison>, ValidationProblem>> CompareAsync(
        string? by, string? period, string? from, string? to, string[]? endpoint, string? method, string? against,
        MonitoringQueries queries, IOptions<MonitoringOptions> options, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (!TryPeriod(period, from, to, options.Value, now, out var range, out var errors))
        {
            return CoreProblems.Invalid(errors);
        }

        var upperMethod = method?.ToUpperInvariant();
        switch ((by ?? "service").ToLowerInvariant())
        {
            case "service":
            {
                var endpoints = await queries.EndpointsAsync(range, new MonitoringFilter(Method: upperMethod), cancellationToken);
                var items = endpoints.GroupBy(e => e.Service, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                    .Select(g => Compared(g.Key, range, [.. g])).ToList();
                return TypedResults.Ok(new Comparison("service", Granularity(range), items));
            }

            case "endpoint":
            {
                if (endpoint is not { Length: >= 2 and <= 10 })
                {
                    return CoreProblems.Invalid("endpoint", "Give 2 to 10 endpoints to compare: ?endpoint=/api/v1/usage&endpoint=/auth/login.");
                }

                var items = new List<ComparisonItem>();
                foreach (var name in endpoint.Distinct(StringComparer.Ordinal))
                {
                    items.Add(Compared(name, range, await queries.EndpointsAsync(range, new MonitoringFilter(Method: upperMethod, Endpoint: name), cancellationToken)));
                }

                return TypedResults.Ok(new Comparison("endpoint", Granularity(range), items));
            }

            case "period":
            {
                var length = range.To - range.From;
                var shift = against is null ? length : ParseDuration(against);
                if (shift is not { } offset || offset <= TimeSpan.Zero || offset > TimeSpan.FromDays(365))
                {
                    return CoreProblems.Invalid("against", "against must be a duration like 1h, 1d or 7d (how far back the other period starts).");
                }

                var earlier = range with { From = range.From - offset, To = range.To - offset };
                if (earlier.Grain == 'm' && earlier.From < now - options.Value.MinuteRollupRetention)
                {
                    earlier = earlier with { Grain = 'h' };
                }

                var filter = new MonitoringFilter(Method: upperMethod, Endpoint: endpoint is { Length: 1 } one ? one[0] : null);
                var current = Compared("current", range, await queries.EndpointsAsync(range, filter, cancellationToken));
                var previous = Compared("previous", earlier, await queries.EndpointsAsync(earlier, filter, cancellationToken));
                return TypedResults.Ok(new Comparison("period", Granularity(range), [current, previous]));
            }

            default:
                return CoreProblems.Invalid("by", "by must be service, endpoint or period.");
        }
    }

    public static async Task<Results<Ok<BaselineList>, ValidationProblem>> BaselinesAsync(
        string? day, string? service, string? method, string? endpoint, MonitoringQueries queries, CancellationToken cancellationToken)
    {
        DateOnly? date = null;
        if (day is not null)
        {
            if (!DateOnly.TryParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
            {
                return CoreProblems.Invalid("day", "day must be a date (yyyy-MM-dd).");
            }

            date = parsed;
        }

        return TypedResults.Ok(new BaselineList(await queries.BaselinesAsync(date, new MonitoringFilter(service, null, method?.ToUpperInvariant(), endpoint), cancellationToken)));
    }

    /// <summary>
    /// The period of a query: <paramref name="period"/> back from now, or [from, to) (to defaults to now), widened to
    /// whole units of the grain: <paramref name="grain"/> if given, else per minute up to 6 hours (within the minute
    /// rollups' retention), per hour up to 14 days, per day beyond.
    /// </summary>
    public static bool TryPeriod(
        string? period, string? from, string? to, MonitoringOptions options, DateTimeOffset now, out MonitoringPeriod range, out Dictionary<string, string[]> errors, char? grain = null)
    {
        errors = [];
        range = new MonitoringPeriod(now, now, 'm');
        DateTimeOffset start, end = now;
        if (period is not null && (from is not null || to is not null))
        {
            errors["period"] = ["Give period or from/to, not both."];
            return false;
        }

        if (to is not null && !DateTimeOffset.TryParse(to, CultureInfo.InvariantCulture, DateTimeStyles.None, out end))
        {
            errors["to"] = ["to must be an ISO 8601 time with an offset, e.g. 2026-11-22T10:00:00Z."];
        }

        if (from is not null)
        {
            if (!DateTimeOffset.TryParse(from, CultureInfo.InvariantCulture, DateTimeStyles.None, out start))
            {
                errors["from"] = ["from must be an ISO 8601 time with an offset, e.g. 2026-11-22T09:00:00Z."];
                return false;
            }
        }
        else if (ParseDuration(period ?? "1h") is { } length && length >= TimeSpan.FromMinutes(1) && length <= TimeSpan.FromDays(400))
        {
            start = end - length;
        }
        else
        {
            errors["period"] = ["period must be a duration like 15m, 1h, 24h or 7d, from 1 minute to 400 days."];
            return false;
        }

        if (errors.Count > 0)
        {
            return false;
        }

        if (start >= end)
        {
            errors["from"] = ["from must be before to."];
            return false;
        }

        if (end - start > TimeSpan.FromDays(400))
        {
            errors["to"] = ["The period may cover at most 400 days."];
            return false;
        }

        var chosen = grain ?? (end - start <= TimeSpan.FromHours(6) && start >= now - options.MinuteRollupRetention ? 'm'
            : end - start <= TimeSpan.FromDays(14) ? 'h' : 'd');
        if (chosen == 'm' && start < now - options.MinuteRollupRetention - TimeSpan.FromMinutes(1))
        {
            errors["from"] = [$"Minute detail is kept for {options.MinuteRollupRetention}: choose a larger bucket or a later start."];
            return false;
        }

        var size = MonitoringPeriod.GrainSizeOf(chosen);
        var alignedStart = new DateTimeOffset(start.UtcTicks / size.Ticks * size.Ticks, TimeSpan.Zero);
        var alignedEnd = new DateTimeOffset((end.UtcTicks + size.Ticks - 1) / size.Ticks * size.Ticks, TimeSpan.Zero);
        range = new MonitoringPeriod(alignedStart, alignedEnd, chosen);
        return true;
    }

    public static TimeSpan? ParseDuration(string value)
    {
        if (value.Length < 2 || !int.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            return null;
        }

        return value[^1] switch
        {
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => null,
        };
    }

    private static async Task<Dictionary<(string, string, string), PerformanceBaseline>> BaselinesByEndpointAsync(MonitoringQueries queries, CancellationToken cancellationToken) =>
        (await queries.BaselinesAsync(null, new MonitoringFilter(), cancellationToken)).ToDictionary(b => (b.Service, b.Method, b.Endpoint));

    private static EndpointSummary Summary(
        ResponseTimeStats e, Dictionary<int, long>? statuses, Dictionary<(string, string, string), PerformanceBaseline> baselines, MonitoringOptions options)
    {
        var p95 = e.Percentile(0.95);
        var baseline = baselines.GetValueOrDefault((e.Service, e.Method, e.Endpoint));
        return new EndpointSummary(
            e.Service, e.Method, e.Endpoint, e.Tier, e.ThresholdMs, e.Count, Round(e.AverageMs), Round(e.Percentile(0.5)), Round(e.Percentile(0.9)),
            Round(p95), Round(e.Percentile(0.99)), Round(e.MaxMs), Percent(e.Errors, e.Count), Percent(e.ClientErrors, e.Count), e.MeetsSla,
            statuses?.OrderBy(s => s.Key).ToDictionary(s => s.Key.ToString(CultureInfo.InvariantCulture), s => s.Value),
            baseline is null ? null : Round(baseline.P95Ms),
            baseline is not null && p95 > baseline.P95Ms * options.DegradationFactor);
    }

    private static ComparisonItem Compared(string label, MonitoringPeriod range, IReadOnlyList<ResponseTimeStats> endpoints)
    {
        var merged = Merge(endpoints);
        return new ComparisonItem(
            label, range.From, range.To, merged.Count, Round(merged.AverageMs), Round(merged.Percentile(0.5)), Round(merged.Percentile(0.9)),
            Round(merged.Percentile(0.95)), Round(merged.Percentile(0.99)), Percent(merged.Errors, merged.Count),
            merged.Count == 0 ? 100 : Round(100.0 * (merged.Count - merged.Slow) / merged.Count), endpoints.Count);
    }

    private static ResponseTimeStats Merge(IEnumerable<ResponseTimeStats> stats)
    {
        var total = new ResponseTimeStats { Endpoint = "*" };
        foreach (var stat in stats)
        {
            total.Add(stat);
        }

        return total;
    }

    private static string Granularity(MonitoringPeriod range) => range.Grain switch { 'm' => "minute", 'h' => "hour", _ => "day" };

    private static double Percent(long part, long whole) => whole == 0 ? 0 : Round(100.0 * part / whole);

    private static double Round(double value) => Math.Round(value, 3);

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 3) : null;
}
