using System.Diagnostics;

namespace SmartHub.ServiceDefaults.Telemetry;

/// <summary>
/// When nothing exports telemetry, ASP.NET Core still starts a request activity for its log scopes, but one that asks
/// for all data, so the span enricher and the correlation tag would fill in tags nothing reads (and without any logger
/// there would be no activity, and no W3C trace id for logs, ProblemDetails and outgoing calls). This listener asks for
/// activities with propagation data only: ids and <c>traceparent</c> flow, nothing is recorded.
/// </summary>
/// <remarks>
/// It listens to ASP.NET Core's server activity only: outgoing calls carry that activity's <c>traceparent</c> through
/// <see cref="TraceContextPropagation"/>, without a client span that nothing would record.
/// </remarks>
internal static class TraceContextListener
{
    private static readonly Lazy<ActivityListener> Listener = new(() =>
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
            SampleUsingParentId = static (ref ActivityCreationOptions<string> _) => ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    });

    /// <summary>Starts listening (once per process).</summary>
    public static void Ensure()
    {
        TraceContextPropagation.UseManual();
        _ = Listener.Value;
    }
}
