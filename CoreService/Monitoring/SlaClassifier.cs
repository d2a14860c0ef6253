using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace SmartHub.CoreService.Monitoring;

/// <summary>An endpoint's SLA tier and its P95 threshold.</summary>
public readonly record struct SlaTier(string Name, int ThresholdMs);

/// <summary>
/// Turns a request path into its endpoint (the path with ids replaced by <c>{id}</c>: GUIDs, numbers, long tokens,
/// e-mail addresses) and finds its SLA tier (<see cref="SlaOptions.Routes"/>, first match; else the default tier).
/// Responses 404 are counted under one endpoint, <c>(not found)</c>, so that probing random paths cannot multiply the
/// endpoints; so are endpoints beyond <see cref="MonitoringOptions.MaxEndpoints"/> per service, under <c>(other)</c>.
/// </summary>
public sealed class SlaClassifier
{
    public const string NotFound = "(not found)";
    public const string Other = "(other)";
    private const int MaxSegments = 8;
    private const int MaxSegmentLength = 64;

    private readonly (string[] Segments, SlaTier Tier)[] _routes;
    private readonly SlaTier _default;
    private readonly int _maxEndpoints;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> _endpoints = new(StringComparer.Ordinal);

    public SlaClassifier(IOptions<MonitoringOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sla = options.Value.Sla;
        Tiers = sla.Tiers.ToDictionary(t => t.Key.ToLowerInvariant(), t => new SlaTier(t.Key.ToLowerInvariant(), t.Value), StringComparer.OrdinalIgnoreCase);
        _routes = [.. sla.Routes.Select(r => (r.Pattern.Trim('/').Split('/'), Tiers[r.Tier]))];
        _default = Tiers[sla.DefaultTier];
        _maxEndpoints = options.Value.MaxEndpoints;
    }

    public IReadOnlyDictionary<string, SlaTier> Tiers { get; }

    public SlaTier TierOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var segments = path.Trim('/').Split('/');
        foreach (var (pattern, tier) in _routes)
        {
            if (Matches(pattern, segments))
            {
                return tier;
            }
        }

        return _default;
    }

    /// <summary>The endpoint a sample counts under (see the class summary).</summary>
    public string EndpointOf(string service, string path, int status)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(path);
        if (status == 404)
        {
            return NotFound;
        }

        var endpoint = Normalize(path);
        var known = _endpoints.GetOrAdd(service, static _ => new ConcurrentDictionary<string, byte>(StringComparer.Ordinal));
        if (known.ContainsKey(endpoint))
        {
            return endpoint;
        }

        return known.Count < _maxEndpoints && known.TryAdd(endpoint, 0) ? endpoint : Other;
    }

    public static string Normalize(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var query = path.IndexOf('?', StringComparison.Ordinal);
        var segments = (query >= 0 ? path[..query] : path).Split('/', StringSplitOptions.RemoveEmptyEntries);
        var parts = new List<string>(Math.Min(segments.Length, MaxSegments) + 1);
        foreach (var segment in segments)
        {
            if (parts.Count == MaxSegments)
            {
                parts.Add("**");
                break;
            }

            parts.Add(IsId(segment) ? "{id}" : segment);
        }

        return "/" + string.Join('/', parts);
    }

    private static bool IsId(string segment) =>
        segment.Length > MaxSegmentLength
        || Guid.TryParse(segment, out _)
        || segment.All(char.IsAsciiDigit)
        || segment.Contains('@', StringComparison.Ordinal)
        || segment.StartsWith("shk_", StringComparison.Ordinal)
        || (segment.Length >= 12 && segment.All(char.IsAsciiHexDigit))
        || (segment.Length >= 20 && segment.Any(char.IsAsciiDigit));

    private static bool Matches(string[] pattern, string[] segments)
    {
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == "**")
            {
                return true;
            }

            if (i >= segments.Length || (pattern[i] != "*" && !string.Equals(pattern[i], segments[i], StringComparison.OrdinalIgnoreCase)))
            {
                return false;
            }
        }

        return pattern.Length == segments.Length;
    }
}
