using System.Diagnostics.CodeAnalysis;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace SmartHub.ServiceDefaults.ServiceDiscovery;

/// <summary>
/// Resolves service names the way Aspire does, from configuration only:
/// <c>http://core/x</c> → <c>services:core:http:0</c> (env <c>services__core__http__0</c>).
/// <c>https+http://core</c> prefers the https endpoint and falls back to http. Hosts that are not
/// a single DNS label (api.openai.com), localhost and IP addresses pass through unchanged.
/// </summary>
public sealed class ServiceEndpointResolver(IConfiguration configuration)
{
    public const string SectionName = "services";

    /// <summary>True when <paramref name="host"/> looks like a service name rather than a real host.</summary>
    public static bool IsServiceName(string host)
    {
        if (string.IsNullOrWhiteSpace(host)
            || host.Contains('.', StringComparison.Ordinal)
            || host.Contains(':', StringComparison.Ordinal)
            || string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return !IPAddress.TryParse(host, out _);
    }

    /// <summary>All configured endpoints of <paramref name="serviceName"/> for a scheme, in index order.</summary>
    public IReadOnlyList<Uri> GetEndpoints(string serviceName, string scheme = "http")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);
        ArgumentException.ThrowIfNullOrWhiteSpace(scheme);

        var section = configuration.GetSection(SectionName).GetSection(serviceName).GetSection(scheme);
        var endpoints = new List<(int Index, Uri Uri)>();
        foreach (var child in section.GetChildren())
        {
            if (int.TryParse(child.Key, out var index)
                && Uri.TryCreate(child.Value?.Trim(), UriKind.Absolute, out var uri)
                && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            {
                endpoints.Add((index, uri));
            }
        }

        return [.. endpoints.OrderBy(e => e.Index).Select(e => e.Uri)];
    }

    public bool TryGetEndpoint(string serviceName, string scheme, [NotNullWhen(true)] out Uri? endpoint)
    {
        var endpoints = GetEndpoints(serviceName, scheme);
        endpoint = endpoints.Count > 0 ? endpoints[0] : null;
        return endpoint is not null;
    }

    /// <summary>The first endpoint of the service; throws a message saying what to set when none is configured.</summary>
    public Uri GetEndpoint(string serviceName, string scheme = "http")
    {
        foreach (var candidate in SchemesFor(scheme))
        {
            if (TryGetEndpoint(serviceName, candidate, out var endpoint))
            {
                return endpoint;
            }
        }

        throw new InvalidOperationException(MissingMessage(serviceName, scheme));
    }

    /// <summary>
    /// Rewrites a <c>http://name/path?query</c> URI to the configured endpoint (scheme, host and
    /// port replaced; path and query kept). Non-service hosts are returned unchanged.
    /// </summary>
    public Uri Resolve(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);

        if (!uri.IsAbsoluteUri || !IsServiceName(uri.Host))
        {
            return uri;
        }

        var endpoint = GetEndpoint(uri.Host, uri.Scheme);
        var pathAndQuery = uri.GetComponents(UriComponents.PathAndQuery | UriComponents.Fragment, UriFormat.UriEscaped);
        return new Uri($"{endpoint.Scheme}://{endpoint.Authority}{pathAndQuery}", UriKind.Absolute);
    }

    internal static string MissingMessage(string serviceName, string scheme)
    {
        var first = SchemesFor(scheme)[0];
        return $"No address for service '{serviceName}': set {SectionName}__{serviceName}__{first}__0 " +
               $"(configuration '{SectionName}:{serviceName}:{first}:0'), e.g. http://127.0.0.1:5000.";
    }

    /// <summary>"https+http" → [https, http]; "http" → [http].</summary>
    private static string[] SchemesFor(string scheme) =>
        scheme.Split('+', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } parts
            ? parts
            : [Uri.UriSchemeHttp];
}
