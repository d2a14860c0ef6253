using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

public static class LoggingExtensions
{
    /// <summary>
    /// One JSON object per line on the console, UTC timestamps, scopes included (request path,
    /// correlation id), and the trace/span ids of the current activity on every entry.
    /// </summary>
    public static TBuilder ConfigureStructuredLogging<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Logging.Configure(options =>
            options.ActivityTrackingOptions =
                ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);

        builder.Logging.AddJsonConsole(options =>
        {
            options.IncludeScopes = true;
            options.UseUtcTimestamp = true;
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });

        return builder;
    }
}
