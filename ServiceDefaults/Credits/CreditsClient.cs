using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.ServiceDefaults.Credits;

public sealed class CreditsClientOptions
{
    public const string SectionName = "Credits:Client";

    /// <summary>CoreService (service discovery resolves <c>http://core</c>).</summary>
    [Required]
    public Uri CoreUri { get; set; } = new("http://core");

    /// <summary>At most this many operations in one request (and one database transaction).</summary>
    [Range(1, CreditBatchRequest.MaxOperations)]
    public int MaxBatchSize { get; set; } = 128;

    /// <summary>
    /// At most this many requests in flight. Operations that arrive while all are busy wait for the next request and go
    /// in it together: under load they share requests and transactions; alone, each goes at once.
    /// </summary>
    [Range(1, 64)]
    public int MaxConcurrentRequests { get; set; } = 4;
}

/// <summary>The answer to one ledger operation: the HTTP status with the value, or with the problem.</summary>
public sealed record CreditAnswer<T>(int Status, T? Value, ProblemDetails? Problem)
    where T : class
{
    public bool Succeeded => Value is not null;
}

/// <summary>
/// CoreService's ledger as McpServer calls it: reserve before an AI call, capture or release after it. Calls that
/// overlap travel together: a call goes at once when fewer than <see cref="CreditsClientOptions.MaxConcurrentRequests"/>
/// requests are in flight; otherwise it waits for the next one, which carries every waiting call (up to
/// <see cref="CreditsClientOptions.MaxBatchSize"/>) to <c>POST /internal/credits/batch</c>, where they share one database
/// transaction (group commit). Under load that is what makes the ledger fast: one HTTP request and one commit carry
/// many callers' operations. Each answer is what the single endpoint would have answered.
/// <para>
/// A request that fails (CoreService down, a timeout, a 5xx for the whole batch) fails every call it carried with a
/// <see cref="DependencyUnavailableException"/> (a 503 for the caller). Whether the operations took effect is then
/// unknown; they are idempotent (reserve by requestId, capture and release by reservation), so a retry with the same
/// arguments answers what happened. A call cancelled before its request leaves is not sent; after, it is not undone
/// (an uncaptured reservation is released when it expires).
/// </para>
/// </summary>
public sealed class CreditsClient
{
    public const string HttpClientName = "SmartHub.Credits";

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly Func<HttpClient> _httpClient;
    private readonly CreditsClientOptions _options;
    private readonly string _internalToken;
    private readonly ILogger _logger;
    private readonly Uri _batchUri;
    private readonly ConcurrentQueue<Pending> _queue = new();
    private int _senders;
    private long _requests;
    private long _operations;

    public CreditsClient(Func<HttpClient> httpClient, CreditsClientOptions options, string internalToken, ILogger<CreditsClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(internalToken);
        _httpClient = httpClient;
        _options = options;
        _internalToken = internalToken;
        _logger = logger ?? NullLogger<CreditsClient>.Instance;
        _batchUri = new Uri(options.CoreUri, "/internal/credits/batch");
    }

    /// <summary>Batches sent so far, and the operations they carried (their ratio is the mean batch size).</summary>
    public (long Requests, long Operations) Sent => (Interlocked.Read(ref _requests), Interlocked.Read(ref _operations));

    /// <summary>201 with the reservation (200 on a replay); 402 insufficient credits or a cap; 404 unknown user; 409 requestId reused; 400.</summary>
    public async Task<CreditAnswer<ReservationResponse>> ReserveAsync(ReserveRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var result = await SubmitAsync(new CreditOperation(Reserve: request), cancellationToken).ConfigureAwait(false);
        return new CreditAnswer<ReservationResponse>(result.Status, result.Reservation, result.Problem);
    }

    /// <summary>200 with the settlement; 404 unknown reservation; 409 released, refused or captured with another amount; 400.</summary>
    public async Task<CreditAnswer<SettlementResponse>> CaptureAsync(CaptureRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var result = await SubmitAsync(new CreditOperation(Capture: request), cancellationToken).ConfigureAwait(false);
        return new CreditAnswer<SettlementResponse>(result.Status, result.Settlement, result.Problem);
    }

    /// <summary>200 with the settlement (also when released or expired already); 404; 409 captured or refused; 400.</summary>
    public async Task<CreditAnswer<SettlementResponse>> ReleaseAsync(ReleaseRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var result = await SubmitAsync(new CreditOperation(Release: request), cancellationToken).ConfigureAwait(false);
        return new CreditAnswer<SettlementResponse>(result.Status, result.Settlement, result.Problem);
    }

    private Task<CreditOperationResult> SubmitAsync(CreditOperation operation, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new Pending(operation, cancellationToken);
        _queue.Enqueue(pending);
        StartSenderIfIdle();
        return pending.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Starts a sender when calls wait and fewer than the maximum are running.</summary>
    private void StartSenderIfIdle()
    {
        while (!_queue.IsEmpty)
        {
            var senders = Volatile.Read(ref _senders);
            if (senders >= _options.MaxConcurrentRequests)
            {
                return; // A running sender takes the queue when its request is answered.
            }

            if (Interlocked.CompareExchange(ref _senders, senders + 1, senders) == senders)
            {
                _ = Task.Run(SendWhileQueuedAsync);
                return;
            }
        }
    }

    private async Task SendWhileQueuedAsync()
    {
        try
        {
            var batch = new List<Pending>(_options.MaxBatchSize);
            while (true)
            {
                batch.Clear();
                while (batch.Count < _options.MaxBatchSize && _queue.TryDequeue(out var pending))
                {
                    if (pending.CancellationToken.IsCancellationRequested)
                    {
                        pending.TrySetCanceled(pending.CancellationToken);
                    }
                    else
                    {
                        batch.Add(pending);
                    }
                }

                if (batch.Count == 0)
                {
                    return;
                }

                await SendAsync(batch).ConfigureAwait(false);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _senders);
            StartSenderIfIdle(); // A call queued after the last look at the queue and before the decrement.
        }
    }

    private async Task SendAsync(List<Pending> batch)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _operations, batch.Count);
        try
        {
            var body = new CreditBatchRequest([.. batch.Select(p => p.Operation)]);
            using var request = new HttpRequestMessage(HttpMethod.Post, _batchUri) { Content = JsonContent.Create(body, options: s_json) };
            request.Headers.TryAddWithoutValidation(SmartHubAuth.InternalTokenHeader, _internalToken);

            // Not the callers' tokens: the request carries other callers' operations too.
            using var response = await _httpClient().SendAsync(request, CancellationToken.None).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new DependencyUnavailableException($"The credits ledger answered {(int)response.StatusCode} to a batch of {batch.Count}.");
            }

            var answer = await response.Content.ReadFromJsonAsync<CreditBatchResponse>(s_json, CancellationToken.None).ConfigureAwait(false);
            if (answer?.Results is not { } results || results.Count != batch.Count)
            {
                throw new DependencyUnavailableException($"The credits ledger answered a batch of {batch.Count} with {answer?.Results?.Count ?? 0} results.");
            }

            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].TrySetResult(results[i]);
            }
        }
        catch (Exception ex)
        {
            var failure = ex as DependencyUnavailableException
                ?? new DependencyUnavailableException("The credits ledger cannot be reached right now.", ex);
            _logger.LogWarning("A credits batch of {Count} operations failed: {Reason}", batch.Count, failure.Message);
            foreach (var pending in batch)
            {
                pending.TrySetException(failure);
            }
        }
    }

    private sealed class Pending(CreditOperation operation, CancellationToken cancellationToken)
        : TaskCompletionSource<CreditOperationResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public CreditOperation Operation { get; } = operation;

        public CancellationToken CancellationToken { get; } = cancellationToken;
    }
}

public static class CreditsClientExtensions
{
    /// <summary>
    /// <see cref="CreditsClient"/> on <c>Credits:Client</c> (validated at start), with the internal token of
    /// <c>Internal:Token</c> and an IHttpClientFactory client (service discovery, correlation id, timeout).
    /// </summary>
    public static IHostApplicationBuilder AddCreditsClient(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<CreditsClientOptions>().BindConfiguration(CreditsClientOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<InternalOptions>().BindConfiguration(InternalOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHttpClient(CreditsClient.HttpClientName);
        builder.Services.AddSingleton(services =>
        {
            var factory = services.GetRequiredService<IHttpClientFactory>();
            return new CreditsClient(
                () => factory.CreateClient(CreditsClient.HttpClientName),
                services.GetRequiredService<IOptions<CreditsClientOptions>>().Value,
                services.GetRequiredService<IOptions<InternalOptions>>().Value.Token,
                services.GetRequiredService<ILogger<CreditsClient>>());
        });
        return builder;
    }
}
