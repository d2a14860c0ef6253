using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Http;

namespace SmartHub.Gateway.SecurityStatus;

/// <summary>A response as a client received it: the URL asked, its status and its headers (several values joined with ", ").</summary>
internal sealed record LiveResponse(Uri Url, int StatusCode, IReadOnlyDictionary<string, string> Headers)
{
    public string? Header(string name) => Headers.GetValueOrDefault(name);
}

/// <summary>
/// Fetches a live response from this gateway replica: <c>GET /alive</c> over loopback, on the address this process
/// listens on, through the whole middleware pipeline and Kestrel, so the headers checked are the ones a client gets
/// (configuration, environment and pipeline order included), not the ones the code means to send. <c>/alive</c> is
/// anonymous, not rate limited and touches no dependency; the security headers are written by one callback for every
/// response, the gateway's own and the forwarded alike, so one response stands for all.
/// </summary>
internal sealed class SecurityHeaderProbe(IServer server, IHttpClientFactory httpClientFactory, IOptions<SecurityStatusOptions> options, TimeProvider timeProvider)
{
    public const string HttpClientName = "SmartHub.SecurityHeaderProbe";
    public const string ProbePath = "/alive";

    /// <summary>GET <see cref="ProbePath"/> on this process's own listening address.</summary>
    public Task<LiveResponse> FetchOwnAsync(CancellationToken cancellationToken)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var own = LoopbackAddress(addresses)
            ?? throw new InvalidOperationException($"The gateway listens on no HTTP address it can reach over loopback ({string.Join(", ", addresses)}).");
        return FetchAsync(own, cancellationToken);
    }

    /// <summary>GET <see cref="ProbePath"/> on <paramref name="baseAddress"/>; no retries, bounded by <see cref="SecurityStatusOptions.ProbeTimeout"/>.</summary>
    public async Task<LiveResponse> FetchAsync(Uri baseAddress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        using var timeout = new CancellationTokenSource(options.Value.ProbeTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseAddress, ProbePath));
        request.Options.Set(HttpRetryPolicy.DisableRetries, true);
        using var response = await httpClientFactory.CreateClient(HttpClientName)
            .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            headers[name] = string.Join(", ", values);
        }

        return new LiveResponse(request.RequestUri!, (int)response.StatusCode, headers);
    }

    /// <summary>
    /// The URL to reach one of the server's addresses from this process, plain HTTP first: a wildcard host (<c>+</c>,
    /// <c>*</c>, <c>0.0.0.0</c>, <c>[::]</c>) is reached on the loopback interface of its family, any other host as it
    /// is; null when there is no HTTP(S) address.
    /// </summary>
    internal static Uri? LoopbackAddress(IEnumerable<string> addresses)
    {
        Uri? https = null;
        foreach (var address in addresses)
        {
            // "http://+:8080" and "http://*:8080" are not URIs; the port is what matters.
            var normalized = address.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal);
            if (!Uri.TryCreate(normalized, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                continue;
            }

            var host = uri.Host switch
            {
                "0.0.0.0" => "127.0.0.1",
                "[::]" => "[::1]",
                var h => h, // loopback, localhost, or the one interface the server listens on
            };
            var loopback = new UriBuilder(uri.Scheme, host, uri.Port).Uri;
            if (uri.Scheme == "http")
            {
                return loopback;
            }

            https ??= loopback;
        }

        return https;
    }
}
