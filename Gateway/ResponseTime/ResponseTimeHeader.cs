using System.Globalization;

namespace SmartHub.Gateway.ResponseTime;

/// <summary>
/// <c>X-Response-Time: 12.3ms</c>: time from the request entering the gateway to the response
/// headers leaving it (for a proxied call, the downstream's time to first byte plus the edge).
/// </summary>
internal sealed class ResponseTimeMiddleware(RequestDelegate next, TimeProvider timeProvider)
{
    public const string HeaderName = "X-Response-Time";

    public Task InvokeAsync(HttpContext context)
    {
        var state = new State(context, timeProvider, timeProvider.GetTimestamp());
        context.Response.OnStarting(static s =>
        {
            var state = (State)s;
            state.Context.Response.Headers[HeaderName] = Format(state.TimeProvider.GetElapsedTime(state.Started));
            return Task.CompletedTask;
        }, state);

        return next(context);
    }

    public static string Format(TimeSpan elapsed) =>
        elapsed.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture) + "ms";

    private sealed record State(HttpContext Context, TimeProvider TimeProvider, long Started);
}

internal static class ResponseTimeExtensions
{
    public static IApplicationBuilder UseResponseTime(this IApplicationBuilder app) =>
        app.UseMiddleware<ResponseTimeMiddleware>();
}
