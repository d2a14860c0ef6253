using System.Globalization;

namespace SmartHub.Gateway.ResponseTime;

/// <summary>
/// <c>X-Response-Time: 12.3ms</c>: time from the request entering the gateway to the response headers leaving it (for
/// a proxied call, the downstream's time to first byte plus the edge). Written by <see cref="Edge.EdgeResponse"/>.
/// </summary>
internal static class ResponseTimeHeader
{
    public const string HeaderName = "X-Response-Time";

    public static string Format(TimeSpan elapsed) =>
        elapsed.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture) + "ms";
}
