using SmartHub.McpServer.Providers;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.McpServer.Chat;

/// <summary>A completion and the deployment that gave it.</summary>
public sealed record RoutedChatCompletion(ChatCompletion Completion, ChatDeployment Deployment);

/// <summary>A stream that has begun: its first delta, and the rest to read with <see cref="NextAsync"/>.</summary>
public sealed class StreamingAnswer(ChatDeployment deployment, ChatDelta first, IAsyncEnumerator<ChatDelta> rest) : IAsyncDisposable
{
    public ChatDeployment Deployment => deployment;

    public ChatDelta First => first;

    /// <summary>The next delta, or null at the end.</summary>
    public async ValueTask<ChatDelta?> NextAsync() => await rest.MoveNextAsync().ConfigureAwait(false) ? rest.Current : null;

    public ValueTask DisposeAsync() => rest.DisposeAsync();
}

/// <summary>Every deployment failed (or the request was refused upstream): what to answer.</summary>
public sealed class ChatRoutingException(int status, OpenAiError error, string? provider = null, TimeSpan? retryAfter = null) : Exception(error.Error.Message)
{
    public int Status { get; } = status;

    public OpenAiError Error { get; } = error;

    public string? Provider { get; } = provider;

    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>Calls a model's deployments in order until one answers.</summary>
public sealed class ChatRouter(ProviderRegistry providers, ILogger<ChatRouter> logger)
{
    public async Task<RoutedChatCompletion> CompleteAsync(IReadOnlyList<ChatDeployment> deployments, ChatRequest request, int maxTokens, CancellationToken cancellationToken)
    {
        ProviderException? last = null;
        foreach (var deployment in deployments)
        {
            try
            {
                var completion = await providers.For(deployment).CompleteAsync(new ChatCall(request, deployment, maxTokens), cancellationToken).ConfigureAwait(false);
                return new RoutedChatCompletion(completion, deployment);
            }
            catch (ProviderException failure) when (IsDeploymentFault(failure))
            {
                logger.LogWarning("Deployment {Deployment} failed: {Reason}", deployment.Name, failure.Message);
                last = failure;
            }
            catch (ProviderException failure)
            {
                throw Refused(failure);
            }
        }

        throw Exhausted(last);
    }

    public async Task<StreamingAnswer> StreamAsync(IReadOnlyList<ChatDeployment> deployments, ChatRequest request, int maxTokens, CancellationToken cancellationToken)
    {
        ProviderException? last = null;
        foreach (var deployment in deployments)
        {
            var stream = providers.For(deployment).StreamAsync(new ChatCall(request, deployment, maxTokens), cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                if (await stream.MoveNextAsync().ConfigureAwait(false))
                {
                    return new StreamingAnswer(deployment, stream.Current, stream);
                }

                await stream.DisposeAsync().ConfigureAwait(false);
                last = new ProviderException(deployment.Provider, $"{deployment.Name} ended the stream without an answer", null, isTransient: true);
            }
            catch (ProviderException failure) when (IsDeploymentFault(failure))
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                logger.LogWarning("Deployment {Deployment} failed: {Reason}", deployment.Name, failure.Message);
                last = failure;
            }
            catch
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        throw Exhausted(last);
    }

    private static bool IsDeploymentFault(ProviderException failure) => failure.StatusCode is not (400 or 413 or 422);

    private static ChatRoutingException Refused(ProviderException failure) =>
        new(failure.StatusCode ?? 400, OpenAiError.Create(failure.Message, "invalid_request_error", "upstream_rejected"), failure.Provider);

    private static ChatRoutingException Exhausted(ProviderException? last) => last?.StatusCode == 429
        ? new(StatusCodes.Status429TooManyRequests, OpenAiError.Create("Every deployment of this model is rate limited. Please retry later.", "rate_limit_error", "upstream_rate_limited"), last.Provider, last.RetryAfter)
        : new(StatusCodes.Status502BadGateway, OpenAiError.Create($"No deployment of this model could answer{(last is null ? "." : $": {last.Message}")}", "server_error", "upstream_error"), last?.Provider);
}
