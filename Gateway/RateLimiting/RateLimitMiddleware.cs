using System.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using SmartHub.Gateway.Edge;
using SmartHub.Gateway.Proxy;
using SmartHub.Gateway.Telemetry;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.Gateway.RateLimiting;

/// <summary>
/// Runs after authentication (the bucket is chosen by identity) and before authorization and proxying, so that
/// unauthenticated floods are limited too (by IP) before they cost a 401. Every response on a limited route carries
/// <c>X-RateLimit-Limit</c> (the sustained rate, requests per second), <c>X-RateLimit-Remaining</c> (whole requests
/// left in the bucket now; up to the burst) and <c>X-RateLimit-Reset</c> (<b>seconds</b> until the bucket is full again,
/// a delta, not a timestamp); a refused request gets 429 with <c>Retry-After</c> (whole seconds, at least 1).
/// </summary>
internal sealed class RateLimitMiddleware(
    RequestDelegate next, DistributedRateLimiter limiter, RateLimitKeys keys, GatewayMetrics metrics)
{
    public const string LimitHeader = "X-RateLimit-Limit";
    public const string RemainingHeader = "X-RateLimit-Remaining";
    public const string ResetHeader = "X-RateLimit-Reset";

    private static readonly KeyValuePair<string, object?> s_apiTag = new("scope", "api");
    private static readonly KeyValuePair<string, object?> s_authTag = new("scope", "auth");

    public Task InvokeAsync(HttpContext context)
    {
        var row = context.GetEndpoint()?.Metadata.GetMetadata<GatewayRoute>();
        if (row is null || row.RateLimit == RateLimitScope.None)
        {
            return next(context);
        }

        var (key, parameters) = keys.Select(row.RateLimit, context.User, context.Connection.RemoteIpAddress);
        var pending = limiter.TakeAsync(key, parameters);
        return pending.IsCompletedSuccessfully
            ? ContinueAsync(context, row, parameters, pending.Result)
            : AwaitAsync(context, row, parameters, pending);
    }

    private async Task AwaitAsync(HttpContext context, GatewayRoute row, BucketParameters parameters, ValueTask<RateLimitResult> pending) =>
        await ContinueAsync(context, row, parameters, await pending);

    private Task ContinueAsync(HttpContext context, GatewayRoute row, BucketParameters parameters, RateLimitResult result)
    {
        // On the response whenever it starts (also 5xx from the exception handler, which clears headers).
        // EdgeResponse (first in the pipeline) writes them with the other edge headers.
        context.Features.GetRequiredFeature<EdgeResponse>().SetRateLimit(
            parameters.LimitHeader, HeaderNumbers.Format(result.Remaining), HeaderNumbers.Format(result.ResetSeconds));

        if (result.Allowed)
        {
            return next(context);
        }

        metrics.RateLimitRejected.Add(1, row.RateLimit == RateLimitScope.Auth ? s_authTag : s_apiTag);
        Activity.Current?.SetTag("smarthub.ratelimit.rejected", true);
        context.Response.Headers.RetryAfter = HeaderNumbers.Format(result.RetryAfterSeconds);
        return GatewayErrors.WriteAsync(
            context,
            StatusCodes.Status429TooManyRequests,
            GatewayErrors.TypeTooManyRequests,
            "Too Many Requests",
            $"Rate limit exceeded: {parameters.LimitHeader} requests per second (burst {parameters.Burst}) "
                + $"{(row.RateLimit == RateLimitScope.Auth ? "per client address on /auth" : "for this caller")}. Retry after {result.RetryAfterSeconds} s.",
            "rate_limit_exceeded");
    }
}

internal static class RateLimitingExtensions
{
    /// <summary>Options (validated at start), key selection, the Redis/local limiter. Needs <c>AddRedisClient("cache")</c>.</summary>
    public static WebApplicationBuilder AddGatewayRateLimiting(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RateLimitOptions>()
            .BindConfiguration(RateLimitOptions.SectionName)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RateLimitOptions>, RateLimitOptionsValidator>();
        builder.Services.AddSingleton(services => new RateLimitKeys(services.GetRequiredService<IOptions<RateLimitOptions>>().Value));
        builder.Services.AddSingleton(services => new DistributedRateLimiter(
            services.GetRequiredService<IRedisClient>(),
            services.GetRequiredService<IOptions<RateLimitOptions>>().Value,
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<ILogger<DistributedRateLimiter>>(),
            services.GetRequiredService<GatewayMetrics>()));
        return builder;
    }

    /// <summary>Between UseSmartHubAuthentication and UseAuthorization.</summary>
    public static IApplicationBuilder UseGatewayRateLimiting(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.ApplicationServices.GetRequiredService<IOptions<RateLimitOptions>>().Value.Enabled
            ? app.UseMiddleware<RateLimitMiddleware>()
            : app;
    }
}
