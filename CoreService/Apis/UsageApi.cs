using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using SmartHub.CoreService.Usage;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.CoreService.Apis;

/// <summary>
/// One group of usage: its figures, and <see cref="Key"/>, the day (yyyy-MM-dd, UTC), the model id, the API key id
/// ("session" for requests made with a signed-in session) or the user id; <see cref="Provider"/> is set for models.
/// </summary>
public sealed record UsageItem : UsageFigures
{
    public UsageItem(string key, string? provider, UsageFigures figures)
        : base(figures)
    {
        Key = key;
        Provider = provider;
    }

    [JsonPropertyOrder(-2)]
    public string Key { get; }

    [JsonPropertyOrder(-1)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Provider { get; }

    public static UsageItem From(string key, string? provider, UsageFigures figures) => new(key, provider, figures);

    public static UsageItem From(UsageGroup group) => From(KeyOf(group), group.Provider, group.Figures);

    private static string KeyOf(UsageGroup group) => group.Dimension switch
    {
        UsageDimension.Day => group.Day!.Value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        UsageDimension.Model => group.Model!,
        UsageDimension.ApiKey => group.ApiKeyId == UsageQueries.SessionKey ? "session" : group.ApiKeyId!.Value.ToString("D"),
        UsageDimension.User => group.UserId!.Value.ToString("D"),
        _ => "total",
    };
}

public sealed record UsageReport(DateTimeOffset From, DateTimeOffset To, string GroupBy, UsageItem Totals, IReadOnlyList<UsageItem> Items);

/// <summary>The caller's usage over a period (any authenticated user or API key).</summary>
public static class UsageApi
{
    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/usage", GetUsageAsync)
            .RequireAuthorization()
            .WithTags("Usage")
            .WithName("GetUsage")
            .WithSummary("The caller's AI requests, tokens and credits over [from, to) grouped by day (every day listed), model or apiKey. " +
                         "from/to: a date (UTC day; a date `to` includes that day) or an RFC 3339 time; default the last 30 days.");
        return app;
    }

    public static async Task<Results<Ok<UsageReport>, ValidationProblem>> GetUsageAsync(
        string? from, string? to, string? groupBy, ClaimsPrincipal principal, UsageQueries queries, IOptions<UsageOptions> options,
        TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new Dictionary<string, string[]>();
        var period = UsagePeriodParser.Parse(from, to, options.Value, timeProvider.GetUtcNow(), errors);
        var dimension = groupBy?.ToUpperInvariant() switch
        {
            null or "DAY" => UsageDimension.Day,
            "MODEL" => UsageDimension.Model,
            "APIKEY" => UsageDimension.ApiKey,
            _ => (UsageDimension?)null,
        };
        if (dimension is null)
        {
            errors["groupBy"] = ["groupBy must be day, model or apiKey."];
        }

        if (errors.Count > 0)
        {
            return CoreProblems.Invalid(errors);
        }

        var groups = await queries.QueryAsync(principal.UserId(), period, [dimension!.Value], cancellationToken);
        var items = dimension == UsageDimension.Day
            ? EveryDay(period, groups)
            : groups.Where(g => g.Dimension == dimension).OrderByDescending(g => g.Figures.Credits).ThenByDescending(g => g.Figures.Requests)
                .Select(UsageItem.From).ToList();
        var name = dimension switch { UsageDimension.Model => "model", UsageDimension.ApiKey => "apiKey", _ => "day" };
        return TypedResults.Ok(new UsageReport(period.From, period.To, name, Totals(groups), items));
    }

    public static UsageItem Totals(IReadOnlyList<UsageGroup> groups) =>
        UsageItem.From("total", null, groups.FirstOrDefault(g => g.Dimension == UsageDimension.Total)?.Figures ?? UsageFigures.Zero);

    /// <summary>One item per UTC day the period touches, zero where nothing happened (a chart needs no gaps).</summary>
    public static List<UsageItem> EveryDay(UsagePeriod period, IReadOnlyList<UsageGroup> groups)
    {
        var byDay = groups.Where(g => g.Dimension == UsageDimension.Day).ToDictionary(g => g.Day!.Value);
        var items = new List<UsageItem>();
        var last = DateOnly.FromDateTime(period.To.UtcDateTime.AddTicks(-1));
        for (var day = DateOnly.FromDateTime(period.From.UtcDateTime); day <= last; day = day.AddDays(1))
        {
            items.Add(byDay.TryGetValue(day, out var group)
                ? UsageItem.From(group)
                : UsageItem.From(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), null, UsageFigures.Zero));
        }

        return items;
    }
}

/// <summary>
/// <c>from</c>/<c>to</c> of the usage endpoints: a date (yyyy-MM-dd, a UTC day) or an RFC 3339 time with an offset.
/// A date <c>to</c> includes its day; a time <c>to</c> is exclusive. Defaults: to = now, from = to − DefaultRangeDays.
/// </summary>
public static class UsagePeriodParser
{
    public static UsagePeriod Parse(string? from, string? to, UsageOptions options, DateTimeOffset now, Dictionary<string, string[]> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        var end = to is null ? now : ParseTime(to, endOfDay: true, "to", errors);
        var start = from is null ? end - TimeSpan.FromDays(options.DefaultRangeDays) : ParseTime(from, endOfDay: false, "from", errors);
        if (errors.Count == 0)
        {
            if (start >= end)
            {
                errors["from"] = ["from must be before to."];
            }
            else if (end - start > TimeSpan.FromDays(options.MaxRangeDays))
            {
                errors["to"] = [$"The period may cover at most {options.MaxRangeDays} days."];
            }
        }

        return new UsagePeriod(start, end);
    }

    internal static DateTimeOffset ParseTime(string value, bool endOfDay, string name, Dictionary<string, string[]> errors)
    {
        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return new DateTimeOffset((endOfDay ? day.AddDays(1) : day).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        }

        // An explicit offset (Z or ±hh:mm) is required: a time without one would depend on the server's zone.
        if (value.Length >= 20 && (value.EndsWith('Z') || value[^6] is '+' or '-')
            && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
        {
            return time.ToUniversalTime();
        }

        errors[name] = [$"{name} must be a date (yyyy-MM-dd) or an RFC 3339 time with an offset (2026-11-22T10:00:00Z)."];
        return default;
    }
}
