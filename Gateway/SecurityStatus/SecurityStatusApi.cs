using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using SmartHub.Gateway.Proxy;
using SmartHub.Gateway.SecurityHeaders;

namespace SmartHub.Gateway.SecurityStatus;

/// <summary>One part of the score: its points and the most it can give (the violation penalty counts down from 0).</summary>
internal sealed record ScorePart(string Part, double Points, double MaxPoints);

/// <summary>The CSP violations CoreService stored in the window, and what they cost; <c>Available</c> false (no penalty) when it could not say.</summary>
internal sealed record RecentViolations(
    bool Available, DateTimeOffset Since, double WindowHours, long? Count, long? Distinct, double Penalty, double MaxPenalty, string? Problem);

internal sealed record SecurityStatusReport(
    DateTimeOffset CheckedAt,
    string CheckedUrl,
    int CheckedStatus,
    string Environment,
    double Score,
    string Grade,
    IReadOnlyList<ScorePart> Breakdown,
    IReadOnlyList<HeaderCheck> Headers,
    CspReport Csp,
    HstsReport Hsts,
    FingerprintReport Fingerprinting,
    RecentViolations Violations,
    IReadOnlyList<string> HeadersOff);

/// <summary>
/// <c>GET /api/v1/security/status</c> (<c>system:read</c>): the security headers this gateway replica actually sends,
/// scored (<see cref="SecurityScore"/>) with the recent CSP violations.
/// <para>
/// <b>Why the gateway answers it, and how.</b> Each service owns its data: the security headers are the gateway's
/// (its configuration, its pipeline), the violations are CoreService's (coredb). The gateway checks its headers on a
/// live response from itself (<see cref="SecurityHeaderProbe"/>: <c>GET /alive</c> over loopback, through Kestrel and
/// the whole pipeline, so a header turned off in configuration or lost in the pipeline shows) and asks CoreService for
/// the violation count over its internal API (<see cref="ViolationSummaryClient"/>, <c>X-Internal-Token</c>). Calls
/// keep the graph's one direction, gateway → services: CoreService never calls the gateway (it has no address for it,
/// and the gateway's only listener is the public one, where no <c>/internal</c> endpoint belongs). With several
/// replicas, each reports its own headers; the violations are the same for all.
/// </para>
/// </summary>
internal static class SecurityStatusApi
{
    public const string RouteId = "gateway-security-status";

    public static WebApplicationBuilder AddSecurityStatus(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<SecurityStatusOptions>()
            .BindConfiguration(SecurityStatusOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddHttpClient(SecurityHeaderProbe.HttpClientName);
        builder.Services.AddHttpClient(ViolationSummaryClient.HttpClientName);
        builder.Services.AddSingleton<SecurityHeaderProbe>();
        builder.Services.AddSingleton<ViolationSummaryClient>();
        return builder;
    }

    /// <summary>Maps the route-table row <see cref="RouteId"/> (its policy, rate limit and order) to the report.</summary>
    public static IEndpointRouteBuilder MapSecurityStatus(this IEndpointRouteBuilder app)
    {
        GatewayRoutes.MapOwn(app, RouteId, GetStatusAsync)
            .WithTags("Security")
            .WithName("GetSecurityStatus")
            .WithSummary("The security headers this gateway sends (checked on a live response), CSP and HSTS strictness, recent CSP violations, a score (0-100) and a grade (A+ to F).");
        return app;
    }

    internal static async Task<Results<Ok<SecurityStatusReport>, ProblemHttpResult>> GetStatusAsync(
        SecurityHeaderProbe probe,
        ViolationSummaryClient violations,
        SecurityHeaderValues values,
        IHostEnvironment environment,
        IOptions<SecurityStatusOptions> options,
        TimeProvider timeProvider,
        ILogger<SecurityHeaderProbe> logger,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        LiveResponse live;
        try
        {
            live = await probe.FetchOwnAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            logger.LogWarning("Security status: no live response from the gateway itself ({Reason})", ex.Message);
            return TypedResults.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "Security status unavailable",
                detail: "The gateway could not fetch a live response from itself to check its headers; try again.",
                type: "https://smarthub.local/problems/security-status-unavailable");
        }

        var window = options.Value.ViolationWindow;
        var now = timeProvider.GetUtcNow();
        var (summary, problem) = await violations.GetAsync(now - window, cancellationToken);
        if (problem is not null)
        {
            logger.LogWarning("Security status: recent CSP violations unknown ({Reason}); scored without the penalty", problem);
        }

        var evaluation = SecurityScore.Evaluate(live.Header, summary?.Distinct);
        return TypedResults.Ok(new SecurityStatusReport(
            now,
            live.Url.ToString(),
            live.StatusCode,
            environment.EnvironmentName,
            evaluation.Score,
            evaluation.Grade,
            [
                new("headers", evaluation.HeaderPoints, evaluation.HeaderMaxPoints),
                new("csp", evaluation.Csp.Points, evaluation.Csp.MaxPoints),
                new("hsts", evaluation.Hsts.Points, evaluation.Hsts.MaxPoints),
                new("fingerprinting", evaluation.Fingerprinting.Points, evaluation.Fingerprinting.MaxPoints),
                new("violations", -evaluation.Violations.Points, 0),
            ],
            evaluation.Headers,
            evaluation.Csp,
            evaluation.Hsts,
            evaluation.Fingerprinting,
            new RecentViolations(
                summary is not null, now - window, window.TotalHours, summary?.Count, summary?.Distinct,
                evaluation.Violations.Points, evaluation.Violations.MaxPoints, problem),
            HeadersOff(values)));
    }

    /// <summary>The configuration names (<c>Gateway:SecurityHeaders:&lt;name&gt;</c>) of the headers this gateway does not send.</summary>
    internal static IReadOnlyList<string> HeadersOff(SecurityHeaderValues values) =>
        [.. Enum.GetValues<SecurityHeader>()
            .Where(header => header is not (SecurityHeader.None or SecurityHeader.All) && !values.Sends(header))
            .Select(header => header.ToString())];
}
