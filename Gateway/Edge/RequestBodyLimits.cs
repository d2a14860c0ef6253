using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using SmartHub.Gateway.Proxy;
using Yarp.ReverseProxy.Forwarder;

namespace SmartHub.Gateway.Edge;

/// <summary>
/// Request body limits per route (<see cref="BodyLimit"/>): a declared <c>Content-Length</c> above the limit is refused
/// with 413 before anything is read or forwarded; a chunked body that grows past it is cut off by Kestrel while YARP
/// streams it, and <see cref="MapBodyTooLargeAsync"/> turns YARP's error into the same 413.
/// </summary>
internal sealed class RequestBodyLimits(IOptions<GatewayOptions> options)
{
    private readonly long _default = options.Value.MaxRequestBodyBytes;
    private readonly long _chat = options.Value.MaxChatRequestBodyBytes;
    private readonly long _cspReport = options.Value.MaxCspReportBodyBytes;

    /// <summary>Sets the route's limit on the request; returns the 413 answer when the declared length exceeds it, else null.</summary>
    public Task? Enforce(HttpContext context, GatewayRoute? row)
    {
        var limit = row?.BodyLimit switch
        {
            BodyLimit.Chat => _chat,
            BodyLimit.CspReport => _cspReport,
            _ => _default,
        };

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }

        return context.Request.ContentLength > limit ? TooLargeAsync(context, limit) : null;
    }

    /// <summary>
    /// In the proxy pipeline, around the forwarder: a body cut off by the limit is a 413, not YARP's 400. Requests that
    /// cannot have a body (GET, Content-Length: 0) skip the wrapper.
    /// </summary>
    public static Task MapBodyTooLargeAsync(HttpContext context, Func<Task> next) =>
        context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false } ? next() : MapAsync(context, next);

    private static async Task MapAsync(HttpContext context, Func<Task> next)
    {
        await next();

        if (!context.Response.HasStarted
            && context.GetForwarderErrorFeature() is { Error: ForwarderError.RequestBodyClient, Exception: { } error }
            && IsBodyTooLarge(error)
            && context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize is { } limit)
        {
            await TooLargeAsync(context, limit);
        }
    }

    /// <summary>Kestrel's "Request body too large", possibly wrapped (YARP reports an AggregateException).</summary>
    internal static bool IsBodyTooLarge(Exception exception) => exception switch
    {
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsBodyTooLarge),
        { InnerException: { } inner } => IsBodyTooLarge(inner),
        _ => false,
    };

    private static Task TooLargeAsync(HttpContext context, long limit) => GatewayErrors.WriteAsync(
        context,
        StatusCodes.Status413PayloadTooLarge,
        GatewayErrors.TypeContentTooLarge,
        "Content Too Large",
        $"The request body is larger than the {Describe(limit)} allowed on this route.",
        "request_too_large");

    internal static string Describe(long bytes) => bytes switch
    {
        >= 1024 * 1024 when bytes % (1024 * 1024) == 0 => $"{bytes / (1024 * 1024)} MiB",
        >= 1024 when bytes % 1024 == 0 => $"{bytes / 1024} KiB",
        _ => $"{bytes} bytes",
    };
}
