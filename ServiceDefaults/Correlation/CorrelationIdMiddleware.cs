using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SmartHub.ServiceDefaults.Correlation;

/// <summary>The correlation id of a request, for code that has the HttpContext.</summary>
public interface ICorrelationIdFeature
{
    string CorrelationId { get; }
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

        // One object is the feature, the response callback's state and the log scope: one allocation per request.
        var scope = new CorrelationScope(context, correlationId);
        context.Features.Set<ICorrelationIdFeature>(scope);
        // Set when the response starts: the exception handler clears headers set earlier.
        context.Response.OnStarting(CorrelationScope.WriteHeader, scope);

        // A recorded span carries the id as a tag. (Not as baggage: X-Correlation-ID already travels downstream,
        // and a baggage header on every outgoing call would only repeat it.) Recorded, not IsAllDataRequested: the
        // activity ASP.NET Core starts for logging alone asks for all data, but nothing records it.
        if (Activity.Current is { Recorded: true } activity)
        {
            activity.SetTag(CorrelationId.ActivityTagName, correlationId);
        }

        var previous = CorrelationId.Current;
        CorrelationId.Current = correlationId;
        try
        {
            using (logger.BeginScope(scope))
            {
                await next(context);
            }
        }
        finally
        {
            CorrelationId.Current = previous;
        }
    }

    /// <summary>
    /// The request's correlation id as a feature, as the state of the callback that echoes it on the response, and as a
    /// log scope (rendered as <c>"CorrelationId": "..."</c> in JSON console scopes and OTLP log attributes).
    /// </summary>
    private sealed class CorrelationScope(HttpContext context, string correlationId)
        : ICorrelationIdFeature, IReadOnlyList<KeyValuePair<string, object?>>
    {
        public static readonly Func<object, Task> WriteHeader = static state =>
        {
            var scope = (CorrelationScope)state;
            scope._context.Response.Headers[Correlation.CorrelationId.HeaderName] = scope.CorrelationId;
            return Task.CompletedTask;
        };

        private readonly HttpContext _context = context;

        public string CorrelationId { get; } = correlationId;

        public int Count => 1;

        public KeyValuePair<string, object?> this[int index] =>
            index == 0 ? new(Correlation.CorrelationId.PropertyName, CorrelationId) : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"{Correlation.CorrelationId.PropertyName}:{CorrelationId}";
    }
}
