using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.ServiceDefaults.Correlation;

/// <summary>
/// Adds the current correlation id to outgoing requests that do not carry one, and the W3C trace context when
/// HttpClient does not (see <see cref="TraceContextPropagation"/>).
/// </summary>
public sealed class CorrelationIdHandler : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        if (CorrelationId.Current is { } correlationId && !request.Headers.Contains(CorrelationId.HeaderName))
        {
            request.Headers.TryAddWithoutValidation(CorrelationId.HeaderName, correlationId);
        }

        if (TraceContextPropagation.IsManual)
        {
            TraceContextPropagation.Inject(request.Headers);
        }

        return base.SendAsync(request, cancellationToken);
    }
}
