using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using SmartHub.CoreService.Usage;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.CoreService.Apis;

public sealed record AdminUsageReport(
    DateTimeOffset From,
    DateTimeOffset To,
    UsageItem Totals,
    long ActiveUsers,
    IReadOnlyList<UsageItem> Days,
    IReadOnlyList<UsageItem> TopUsers,
    IReadOnlyList<UsageItem> TopModels);

/// <summary>Usage across all users (permission monitoring:read): totals, every day, and the top users and models by credits.</summary>
public static class UsageAdminApi
{
    public const int DefaultTop = 10;
    public const int MaxTop = 100;

    public static IEndpointRouteBuilder MapUsageAdminApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/admin/usage", GetUsageAsync)
            .RequirePermission(Permissions.MonitoringRead)
            .WithTags("Usage")
            .WithName("GetAdminUsage")
            .WithSummary("All users' AI requests over [from, to) (as /api/v1/usage): totals, every day, active users, and the top users and models by credits (?top 1-100, default 10).");
        return app;
    }

    public static async Task<Results<Ok<AdminUsageReport>, ValidationProblem>> GetUsageAsync(
        string? from, string? to, int? top, UsageQueries queries, IOptions<UsageOptions> options, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new Dictionary<string, string[]>();
        var period = UsagePeriodParser.Parse(from, to, options.Value, timeProvider.GetUtcNow(), errors);
        var count = top ?? DefaultTop;
        if (count is < 1 or > MaxTop)
        {
            errors["top"] = [$"top must be between 1 and {MaxTop}."];
        }

        if (errors.Count > 0)
        {
            return CoreProblems.Invalid(errors);
        }

        // Two reads of two small rollups (per user and day, per model and day), side by side.
        var byUser = queries.QueryAsync(null, period, [UsageDimension.Day, UsageDimension.User], cancellationToken);
        var byModel = queries.QueryAsync(null, period, [UsageDimension.Model], cancellationToken);
        await Task.WhenAll(byUser, byModel);
        var (groups, models) = (await byUser, await byModel);
        var users = groups.Where(g => g.Dimension == UsageDimension.User).ToList();
        return TypedResults.Ok(new AdminUsageReport(
            period.From,
            period.To,
            UsageApi.Totals(groups),
            users.Count,
            UsageApi.EveryDay(period, groups),
            Top(users, count),
            Top(models.Where(g => g.Dimension == UsageDimension.Model), count)));
    }

    private static List<UsageItem> Top(IEnumerable<UsageGroup> groups, int count) =>
        groups.OrderByDescending(g => g.Figures.Credits).ThenByDescending(g => g.Figures.Requests).Take(count).Select(UsageItem.From).ToList();
}
