using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SmartHub.ServiceDefaults.Correlation;

/// <summary>The correlation id of a request, for code that has the HttpContext.</summary>
public interface ICorrelationIdFeature
{
    string CorrelationId { get; }
}

internal sealed class CorrelationIdFeature(string correlationId) : ICorrelationIdFeature
{
    public string CorrelationId { get; } = correlationId;
}

/// <summary>
/// Reads (or creates) the request's correlation id, echoes it on the response, and makes it
/// visible to logs (scope), recorded traces (tag) and outgoing calls (async context).
/// </summary>
internal sealed class CorrelationIdMiddleware(RequestDelegate next, ILogger<CorrelationIdMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var incoming = context.Request.Headers[CorrelationId.HeaderName];
        var correlationId = CorrelationId.AcceptOrCreate(incoming.Count == 1 ? incoming[0] : null);

        context.Features.Set<ICorrelationIdFeature>(new CorrelationIdFeature(correlationId));
        // Set when the response starts: the exception handler clears headers set earlier.
        context.Response.OnStarting(static state =>
        {
            var (httpContext, id) = ((HttpContext, string))state;
            httpContext.Response.Headers[CorrelationId.HeaderName] = id;
            return Task.CompletedTask;
        }, (context, correlationId));

        // A recorded span carries the id as a tag. (Not as baggage: X-Correlation-ID already travels downstream,
        // and a baggage header on every outgoing call would only repeat it.)
        if (Activity.Current is { IsAllDataRequested: true } activity)
        {
            activity.SetTag(CorrelationId.ActivityTagName, correlationId);
        }

        var previous = CorrelationId.Current;
        CorrelationId.Current = correlationId;
        try
        {
            using (logger.BeginScope(new CorrelationScope(correlationId)))
            {
                await next(context);
            }
        }
        finally
        {
            CorrelationId.Current = previous;
        }
    }

    /// <summary>Renders as <c>"CorrelationId": "..."</c> in JSON console scopes and OTLP log attributes.</summary>
    private sealed class CorrelationScope(string correlationId) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => 1;

        public KeyValuePair<string, object?> this[int index] =>
            index == 0 ? new(CorrelationId.PropertyName, correlationId) : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"{CorrelationId.PropertyName}:{correlationId}";
    }
}
