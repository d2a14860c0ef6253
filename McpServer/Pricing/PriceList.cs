using System.ComponentModel.DataAnnotations;
using System.Net.Http.Json;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Credits;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.McpServer.Pricing;

/// <summary>Section <c>Pricing:Client</c>: where McpServer reads the price list, and how often.</summary>
public sealed class PriceListOptions
{
    public const string SectionName = "Pricing:Client";

    [Required]
    public Uri CoreUri { get; set; } = new("http://core");

    /// <summary>A list older than this is read again (in the background: requests keep the one they have meanwhile).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// CoreService's price list (<c>GET /internal/pricing</c>), held in memory and read again every
/// <see cref="PriceListOptions.RefreshInterval"/>: the single source of what a model costs, shared with the users'
/// <c>GET /api/v1/pricing</c>. The first request waits for the list; later ones never do (a stale list is refreshed
/// in the background, and kept while CoreService is unreachable). No list at all → <see cref="DependencyUnavailableException"/>.
/// </summary>
public sealed class PriceList(
    IHttpClientFactory httpClientFactory, PriceListOptions options, InternalOptions internalOptions, TimeProvider timeProvider, ILogger<PriceList> logger) : IDisposable
{
    public const string HttpClientName = "SmartHub.Pricing";

    private readonly SemaphoreSlim _loading = new(1, 1);
    private volatile Snapshot? _snapshot;

    public void Dispose() => _loading.Dispose();

    private sealed record Snapshot(IReadOnlyDictionary<string, ModelPrice> Prices, long LoadedAt);

    /// <summary>The price of <paramref name="model"/>, or null when CoreService prices it not.</summary>
    public async ValueTask<ModelPrice?> GetAsync(string model, CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        if (snapshot is null)
        {
            snapshot = await LoadAsync(cancellationToken).ConfigureAwait(false);
        }
        else if (timeProvider.GetElapsedTime(snapshot.LoadedAt) > options.RefreshInterval && _loading.CurrentCount > 0)
        {
            _ = RefreshInBackgroundAsync();
        }

        return snapshot.Prices.GetValueOrDefault(model);
    }

    private async Task RefreshInBackgroundAsync()
    {
        try
        {
            await LoadAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (DependencyUnavailableException exception)
        {
            logger.LogWarning("Price list: keeping the one from {Age:0} s ago: {Reason}", timeProvider.GetElapsedTime(_snapshot!.LoadedAt).TotalSeconds, exception.Message);
        }
    }

    private async Task<Snapshot> LoadAsync(CancellationToken cancellationToken)
    {
        var before = _snapshot;
        await _loading.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!ReferenceEquals(_snapshot, before) && _snapshot is { } fresh)
            {
                return fresh;
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(options.CoreUri, "/internal/pricing"));
            request.Headers.Add(SmartHubAuth.InternalTokenHeader, internalOptions.Token);
            PricingResponse? body;
            try
            {
                using var response = await httpClientFactory.CreateClient(HttpClientName).SendAsync(request, cancellationToken).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    throw new DependencyUnavailableException($"CoreService is unavailable: the price list answered {(int)response.StatusCode}");
                }

                body = await response.Content.ReadFromJsonAsync<PricingResponse>(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is HttpRequestException or System.Text.Json.JsonException
                || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                throw new DependencyUnavailableException($"CoreService is unavailable: the price list could not be read ({exception.GetType().Name})", exception);
            }

            var prices = (body?.Models ?? []).ToDictionary(
                m => m.Model,
                m => new ModelPrice { Provider = m.Provider, PromptPer1K = m.PromptPer1K, CompletionPer1K = m.CompletionPer1K },
                StringComparer.Ordinal);
            var snapshot = new Snapshot(prices, timeProvider.GetTimestamp());
            _snapshot = snapshot;
            return snapshot;
        }
        finally
        {
            _loading.Release();
        }
    }
}
