using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Redis;
using Yarp.ReverseProxy.Model;

namespace SmartHub.Gateway.ResponseTime;

/// <summary>
/// First step of YARP's proxy pipeline: times the proxied request (to the end of the response body) and queues one
/// <see cref="ResponseTimeSample"/>. O(1), never blocks, never fails the request.
/// </summary>
internal sealed class ResponseTimeSampleMiddleware(RequestDelegate next, ResponseTimeSampleQueue queue, TimeProvider timeProvider)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = timeProvider.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var proxy = context.Features.Get<IReverseProxyFeature>();
            var route = proxy?.Route.Config;
            queue.Enqueue(new ResponseTimeSample(
                route?.RouteId ?? "",
                context.Request.Path.Value ?? "/",
                context.Request.Method,
                context.Response.StatusCode,
                timeProvider.GetElapsedTime(started).TotalMilliseconds,
                proxy?.Cluster?.Config.ClusterId ?? route?.ClusterId ?? "",
                timeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
                context.GetCorrelationId()));
        }
    }
}

internal static class ResponseTimeSampleExtensions
{
    /// <summary>Options, the queue and its writer (needs <c>AddRedisClient("cache")</c>).</summary>
    public static WebApplicationBuilder AddResponseTimeSamples(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ResponseTimeSampleOptions>()
            .BindConfiguration(ResponseTimeSampleOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(services =>
        {
            var options = services.GetRequiredService<IOptions<ResponseTimeSampleOptions>>().Value;
            return new ResponseTimeSampleQueue(
                options.QueueCapacity,
                services.GetRequiredService<Telemetry.GatewayMetrics>(),
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILogger<ResponseTimeSampleQueue>>(),
                options.BatchSize);
        });
        builder.Services.AddHostedService(services => new ResponseTimeSampleWriter(
            services.GetRequiredService<ResponseTimeSampleQueue>(),
            services.GetRequiredService<IRedisClient>(),
            services.GetRequiredService<IOptions<ResponseTimeSampleOptions>>(),
            services.GetRequiredService<Telemetry.GatewayMetrics>(),
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<ILogger<ResponseTimeSampleWriter>>()));
        return builder;
    }

    /// <summary>In the proxy pipeline, when <c>Gateway:ResponseTimeSamples:Enabled</c>.</summary>
    public static IApplicationBuilder UseResponseTimeSamples(this IApplicationBuilder proxyPipeline)
    {
        ArgumentNullException.ThrowIfNull(proxyPipeline);
        return proxyPipeline.ApplicationServices.GetRequiredService<IOptions<ResponseTimeSampleOptions>>().Value.Enabled
            ? proxyPipeline.UseMiddleware<ResponseTimeSampleMiddleware>()
            : proxyPipeline;
    }
}
