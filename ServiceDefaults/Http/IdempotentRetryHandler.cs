using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace SmartHub.ServiceDefaults.Http;

/// <summary>
/// Retries idempotent requests on transient failures (Polly.Core: exponential backoff with
/// jitter, per-attempt timeout, Retry-After honoured). Other requests pass straight through.
/// </summary>
public sealed class IdempotentRetryHandler : DelegatingHandler
{
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly TimeSpan _attemptTimeout;

    public IdempotentRetryHandler(IOptions<HttpClientDefaultsOptions> options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);

        var settings = options.Value;
        _attemptTimeout = EffectiveAttemptTimeout(settings);
        _pipeline = BuildPipeline(settings, timeProvider);
    }

    internal static ResiliencePipeline<HttpResponseMessage> BuildPipeline(HttpClientDefaultsOptions settings, TimeProvider timeProvider)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider };

        if (settings.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = settings.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = settings.RetryBaseDelay,
                MaxDelay = settings.MaxRetryDelay,
                ShouldHandle = args => ValueTask.FromResult(HttpRetryPolicy.IsTransient(args.Outcome)),
                DelayGenerator = args => ValueTask.FromResult(
                    HttpRetryPolicy.RetryAfter(args.Outcome.Result, timeProvider.GetUtcNow(), settings.MaxRetryDelay)),
            });
        }

        return builder.AddTimeout(EffectiveAttemptTimeout(settings)).Build();
    }

    /// <summary>An attempt never outlives the whole call.</summary>
    internal static TimeSpan EffectiveAttemptTimeout(HttpClientDefaultsOptions settings) =>
        settings.AttemptTimeout < settings.TotalTimeout ? settings.AttemptTimeout : settings.TotalTimeout;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        if (!HttpRetryPolicy.ShouldRetry(request))
        {
            return await base.SendAsync(request, cancellationToken);
        }

        // A retried request is sent again: its body must be replayable.
        if (request.Content is not null)
        {
            await request.Content.LoadIntoBufferAsync(cancellationToken);
        }

        try
        {
            return await _pipeline.ExecuteAsync(
                async (state, token) => await state.Handler.SendCoreAsync(state.Request, token),
                (Handler: this, Request: request),
                cancellationToken);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new HttpRequestException(
                $"{request.Method} {request.RequestUri?.GetLeftPart(UriPartial.Path)} timed out after {_attemptTimeout.TotalSeconds:0.###} s (per attempt).",
                ex);
        }
    }

    private Task<HttpResponseMessage> SendCoreAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.SendAsync(request, cancellationToken);
}
