using System.Globalization;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.Gateway.SecurityStatus;

/// <summary>CoreService's count of the CSP violations stored since a time: all reports, and distinct (page, directive, blocked URI).</summary>
internal sealed record ViolationSummary(DateTimeOffset Since, long Count, long Distinct);

/// <summary>
/// Asks CoreService, which owns the violations (coredb), how many arrived since a time:
/// <c>GET http://core/internal/security/violations/summary?since=…</c> with <c>X-Internal-Token</c> (the gateway never
/// routes <c>/internal</c>, so only services holding the token reach it).
/// </summary>
internal sealed class ViolationSummaryClient(
    IHttpClientFactory httpClientFactory,
    IOptions<InternalOptions> internalOptions,
    IOptions<SecurityStatusOptions> options,
    TimeProvider timeProvider)
{
    public const string HttpClientName = "SmartHub.ViolationSummary";

    /// <summary>The summary, or null and the reason when CoreService cannot give it now.</summary>
    public async Task<(ViolationSummary? Summary, string? Problem)> GetAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        var timeoutAfter = options.Value.ProbeTimeout;
        using var timeout = new CancellationTokenSource(timeoutAfter, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        var uri = new Uri("http://core/internal/security/violations/summary?since="
            + Uri.EscapeDataString(since.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)));
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.TryAddWithoutValidation(SmartHubAuth.InternalTokenHeader, internalOptions.Value.Token);
            using var response = await httpClientFactory.CreateClient(HttpClientName).SendAsync(request, linked.Token);
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"the core service answered {(int)response.StatusCode}");
            }

            return (await response.Content.ReadFromJsonAsync<ViolationSummary>(linked.Token), null);
        }
        catch (Exception ex) when (ex is HttpRequestException or System.Text.Json.JsonException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return (null, timeout.IsCancellationRequested
                ? $"no answer from the core service within {timeoutAfter.TotalSeconds:0.#} s"
                : "the core service is unreachable");
        }
    }
}
