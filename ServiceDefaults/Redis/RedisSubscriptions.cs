using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace SmartHub.ServiceDefaults.Redis;

/// <summary>A pub/sub delivery: the channel and the published payload (usually a bulk string).</summary>
public readonly record struct RedisChannelMessage(string Channel, RedisResult Message);

/// <summary>An active subscription; dispose it to stop receiving (UNSUBSCRIBE is sent when the channel's last handler goes).</summary>
public sealed class RedisSubscription : IAsyncDisposable
{
    private readonly SubscriptionManager _owner;
    private int _disposed;

    internal RedisSubscription(SubscriptionManager owner, string channel, Func<RedisChannelMessage, CancellationToken, ValueTask> handler)
    {
        _owner = owner;
        Channel = channel;
        Handler = handler;
    }

    public string Channel { get; }

    internal Func<RedisChannelMessage, CancellationToken, ValueTask> Handler { get; }

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _disposed, 1) == 0 ? _owner.UnsubscribeAsync(this) : ValueTask.CompletedTask;
}

/// <summary>
/// Pub/sub on a dedicated connection (a RESP2 connection in subscribe mode can run nothing else). Subscriptions are
/// renewed on every reconnect before the connection is used; handlers run one message at a time, in order, on a
/// dispatcher task so a slow handler never stalls the socket. The dispatch queue is bounded: when handlers fall more
/// than <see cref="QueueCapacity"/> messages behind, new messages are dropped (logged and counted).
/// Messages published while the connection was down are lost, as with any Redis pub/sub client.
/// </summary>
internal sealed class SubscriptionManager : IAsyncDisposable
{
    internal const int QueueCapacity = 10_000;

    private readonly ConcurrentDictionary<string, RedisSubscription[]> _byChannel = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConnectionSupervisor _supervisor;
    private readonly Channel<(RedisSubscription[] Handlers, RedisChannelMessage Message)> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _logger;
    private readonly Task _dispatcher;
    private long _dropped;

    public SubscriptionManager(RedisOptions options, TimeProvider timeProvider, ILogger logger)
    {
        _logger = logger;
        _supervisor = new ConnectionSupervisor(options, "subscriptions", timeProvider, logger, OnPush, ResubscribeAsync);
        _queue = Channel.CreateBounded<(RedisSubscription[], RedisChannelMessage)>(new BoundedChannelOptions(QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite: a full queue rejects the new message
        });
        _dispatcher = Task.Run(DispatchAsync);
    }

    public bool IsConnected => _supervisor.Current is not null;

    public async Task<RedisSubscription> SubscribeAsync(
        string channel, Func<RedisChannelMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken)
    {
        _supervisor.Start();
        var connection = _supervisor.Current;
        if (connection is null && !_supervisor.FirstAttempt.IsCompleted)
        {
            await _supervisor.FirstAttempt.WaitAsync(cancellationToken); // bounded by the connect timeout
            connection = _supervisor.Current;
        }

        if (connection is null)
        {
            throw _supervisor.Unavailable();
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var subscription = new RedisSubscription(this, channel, handler);
            var isNew = !_byChannel.TryGetValue(channel, out var existing);
            _byChannel[channel] = isNew ? [subscription] : [.. existing!, subscription];
            if (isNew)
            {
                try
                {
                    await connection.SendAsync("SUBSCRIBE", [channel], cancellationToken);
                }
                catch
                {
                    Remove(subscription);
                    throw;
                }
            }

            return subscription;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask UnsubscribeAsync(RedisSubscription subscription)
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _gate.WaitAsync();
        try
        {
            if (Remove(subscription) && _supervisor.Current is { } connection)
            {
                try
                {
                    await connection.SendAsync("UNSUBSCRIBE", [subscription.Channel], CancellationToken.None);
                }
                catch (RedisException)
                {
                    // Not connected: the next connection will not subscribe to it anyway.
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync();
        _queue.Writer.TryComplete();
        await _supervisor.DisposeAsync();
        await _dispatcher;
        _stop.Dispose();
        _gate.Dispose();
    }

    /// <summary>Removes one handler; true when it was the channel's last one.</summary>
    private bool Remove(RedisSubscription subscription)
    {
        if (!_byChannel.TryGetValue(subscription.Channel, out var handlers))
        {
            return false;
        }

        var remaining = Array.FindAll(handlers, h => !ReferenceEquals(h, subscription));
        if (remaining.Length > 0)
        {
            _byChannel[subscription.Channel] = remaining;
            return false;
        }

        _byChannel.TryRemove(subscription.Channel, out _);
        return true;
    }

    /// <summary>On every new subscriber connection, before it is published: SUBSCRIBE to every channel (pipelined, one reply each).</summary>
    private async Task ResubscribeAsync(RespConnection connection, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var channels = _byChannel.Keys.ToArray();
            if (channels.Length == 0)
            {
                return;
            }

            var replies = new Task<RedisResult>[channels.Length];
            for (var i = 0; i < channels.Length; i++)
            {
                replies[i] = connection.SendAsync("SUBSCRIBE", [channels[i]], cancellationToken);
            }

            await Task.WhenAll(replies);
            _logger.LogInformation("Redis subscriptions renewed: {Count} channels", channels.Length);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs on the read loop: find the handlers and queue the message, never block.</summary>
    private void OnPush(RedisResult push)
    {
        var items = push.AsArray();
        if (items.Count != 3)
        {
            return; // pmessage: pattern subscriptions are not offered
        }

        var channel = items[1].AsString();
        if (channel is null || !_byChannel.TryGetValue(channel, out var handlers))
        {
            return;
        }

        if (!_queue.Writer.TryWrite((handlers, new RedisChannelMessage(channel, items[2]))))
        {
            RedisTelemetry.DroppedMessages.Add(1);
            var dropped = Interlocked.Increment(ref _dropped);
            if (dropped == 1 || dropped % 1000 == 0)
            {
                _logger.LogWarning("Redis pub/sub handlers are {Capacity} messages behind; dropped {Dropped} messages so far (last on {Channel})",
                    QueueCapacity, dropped, channel);
            }
        }
    }

    private async Task DispatchAsync()
    {
        var token = _stop.Token;
        try
        {
            await foreach (var (handlers, message) in _queue.Reader.ReadAllAsync(token))
            {
                foreach (var subscription in handlers)
                {
                    if (subscription.IsDisposed)
                    {
                        continue;
                    }

                    try
                    {
                        await subscription.Handler(message, token);
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested)
                    {
                        return;
                    }
#pragma warning disable CA1031 // one failing handler must not stop deliveries
                    catch (Exception ex)
#pragma warning restore CA1031
                    {
                        _logger.LogError(ex, "Redis pub/sub handler for channel {Channel} failed", message.Channel);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }
}
