using System.Diagnostics;
using OpenTelemetry.Trace;
using SmartHub.ServiceDefaults.Health;

namespace SmartHub.ServiceDefaults.Telemetry;

/// <summary>
/// Drops the server spans of probe requests (/health, /alive, /metrics) so probes every few
/// seconds do not flood the trace store; their children follow (parent-based sampling).
/// ASP.NET Core puts <c>url.path</c> on its activity at creation, which is what a sampler sees.
/// </summary>
internal sealed class HealthProbeSampler(Sampler inner) : Sampler
{
    private const string AspNetCoreActivityName = "Microsoft.AspNetCore.Hosting.HttpRequestIn";

    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters)
    {
        if (samplingParameters.Kind == ActivityKind.Server
            && string.Equals(samplingParameters.Name, AspNetCoreActivityName, StringComparison.Ordinal)
            && samplingParameters.Tags is { } tags)
        {
            foreach (var tag in tags)
            {
                if (string.Equals(tag.Key, "url.path", StringComparison.Ordinal)
                    && HealthProbePaths.IsProbe(tag.Value as string))
                {
                    return new SamplingResult(SamplingDecision.Drop);
                }
            }
        }

        return inner.ShouldSample(samplingParameters);
    }
}
