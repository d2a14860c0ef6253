using SmartHub.McpServer.Providers;

namespace SmartHub.McpServer.Routing;

/// <summary>
/// A stream that has produced its first delta, from the deployment that will finish it. Routing is over: a failure
/// while reading <see cref="Rest"/> is the caller's to handle (the client has tokens already) and is never retried.
/// <para>
/// <see cref="Rest"/> is the provider's live enumerator, positioned on <see cref="FirstDelta"/>: send
/// <see cref="FirstDelta"/>, then <c>while (await Rest.MoveNextAsync()) send(Rest.Current)</c>. The enumerator runs under
/// <see cref="CancellationToken"/>, which the caller's token and the deployment's timeout (counted from the attempt's
/// start, to the last token) cancel; when the timeout ends the stream, <c>MoveNextAsync</c> throws
/// <see cref="OperationCanceledException"/> and <see cref="TimedOut"/> is true.
/// </para>
/// Dispose it (<c>await using</c>) in every case: it disposes the enumerator (which closes the upstream connection) and
/// the timeout. Disposing twice is harmless.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "A routed chat stream, not a System.IO.Stream; the name the chat API knows it by.")]
public sealed class RoutedStream : IAsyncDisposable
{
    private readonly AttemptCancellation _cancellation;
    private int _disposed;

    internal RoutedStream(ChatDeployment deployment, IAsyncEnumerator<ChatDelta> rest, AttemptCancellation cancellation, IReadOnlyList<RouteAttempt> attempts)
    {
        Deployment = deployment;
        Rest = rest;
        FirstDelta = rest.Current;
        _cancellation = cancellation;
        Attempts = attempts;
    }

    /// <summary>The deployment that serves the stream.</summary>
    public ChatDeployment Deployment { get; }

    /// <summary>The first delta, already read from <see cref="Rest"/>.</summary>
    public ChatDelta FirstDelta { get; }

    /// <summary>The provider's enumerator, positioned on <see cref="FirstDelta"/>; <c>MoveNextAsync</c> gives the next deltas.</summary>
    public IAsyncEnumerator<ChatDelta> Rest { get; }

    /// <summary>Every attempt made (and deployment skipped) before the first delta, in order; the last is the one that succeeded.</summary>
    public IReadOnlyList<RouteAttempt> Attempts { get; }

    /// <summary>Canceled by the caller's token or the deployment's timeout.</summary>
    public CancellationToken CancellationToken => _cancellation.Token;

    /// <summary>True when the deployment's timeout, not the caller, ended the stream.</summary>
    public bool TimedOut => _cancellation.TimedOut;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            await Rest.DisposeAsync();
        }
        finally
        {
            _cancellation.Dispose();
        }
    }
}
