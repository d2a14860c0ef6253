using System.Buffers;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace SmartHub.ServiceDefaults.Redis;

/// <summary>
/// The <see cref="IRedisClient"/> implementation: RESP2 over one multiplexed TCP connection with pipelining, automatic
/// reconnect with capped exponential backoff, fail-fast while disconnected, per-command timeout and cancellation,
/// plus a lazily opened second connection for pub/sub.
/// </summary>
public sealed class RedisConnection : IRedisClient, IAsyncDisposable, IDisposable
{
    private readonly RedisOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly ConnectionSupervisor _commands;
    private readonly Lock _subscriptionsLock = new();
    private SubscriptionManager? _subscriptions;
    private int _disposed;

    private RedisConnection(RedisOptions options, ILogger? logger, TimeProvider? timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        EndPoint = new DnsEndPoint(options.Host, options.Port);
        _commands = new ConnectionSupervisor(options, "commands", _timeProvider, _logger);
    }

    public DnsEndPoint EndPoint { get; }

    public RedisOptions Options => _options;

    public bool IsConnected => _commands.Current is not null;

    /// <summary>
    /// Returns at once and connects in the background (abortConnect=false semantics). Until the first attempt has
    /// finished, commands wait for it (within their timeout); afterwards they fail fast while Redis is unreachable.
    /// </summary>
    public static RedisConnection Create(RedisOptions options, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        var connection = new RedisConnection(options, logger, timeProvider);
        connection._commands.Start();
        return connection;
    }

    /// <summary>Connects and waits for the handshake; throws (and cleans up) if the first attempt fails.</summary>
    /// <exception cref="RedisConnectionException">Redis is unreachable or rejected AUTH/SELECT.</exception>
    public static async Task<RedisConnection> ConnectAsync(
        RedisOptions options, ILogger? logger = null, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        var connection = Create(options, logger, timeProvider);
        try
        {
            await connection._commands.FirstAttempt.WaitAsync(cancellationToken);
            if (connection._commands.Current is null)
            {
                throw connection._commands.Unavailable();
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public Task<RedisResult> ExecuteAsync(string command, ReadOnlySpan<RedisArg> args, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        RespWriter.Validate(command, args);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<RedisResult>(cancellationToken);
        }

        if (_commands.Current is { } connection)
        {
            return connection.SendAsync(command, args, cancellationToken);
        }

        if (!_commands.FirstAttempt.IsCompleted)
        {
            // Start-up: the first connect is still running. Encode now (the span cannot wait), send when it is done.
            var encoded = new ArrayBufferWriter<byte>();
            RespWriter.WriteCommand(encoded, command, args);
            return SendAfterFirstAttemptAsync(command, encoded, cancellationToken);
        }

        RedisTelemetry.RecordFailureBeforeSend(command, "connection");
        return Task.FromException<RedisResult>(_commands.Unavailable());
    }

    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var start = _timeProvider.GetTimestamp();
        await ExecuteAsync("PING", [], cancellationToken);
        return _timeProvider.GetElapsedTime(start);
    }

    public Task<RedisSubscription> SubscribeAsync(
        string channel, Func<RedisChannelMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(handler);
        SubscriptionManager subscriptions;
        lock (_subscriptionsLock)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            subscriptions = _subscriptions ??= new SubscriptionManager(_options, _timeProvider, _logger);
        }

        return subscriptions.SubscribeAsync(channel, handler, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        SubscriptionManager? subscriptions;
        lock (_subscriptionsLock)
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            subscriptions = _subscriptions;
        }

        if (subscriptions is not null)
        {
            await subscriptions.DisposeAsync();
        }

        await _commands.DisposeAsync();
    }

    /// <summary>Synchronous disposal for containers disposed with Dispose(); prefer <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public override string ToString() => $"RedisConnection({_options.Address})";

    private async Task<RedisResult> SendAfterFirstAttemptAsync(string command, ArrayBufferWriter<byte> encoded, CancellationToken cancellationToken)
    {
        try
        {
            await _commands.FirstAttempt.WaitAsync(_options.CommandTimeout, _timeProvider, cancellationToken);
        }
        catch (TimeoutException)
        {
            RedisTelemetry.RecordFailureBeforeSend(command, "timeout");
            throw new RedisTimeoutException(
                $"Redis command {command} timed out after {_options.CommandTimeout.TotalMilliseconds} ms waiting for the first connection to {_options.Address}.");
        }

        if (_commands.Current is not { } connection)
        {
            RedisTelemetry.RecordFailureBeforeSend(command, "connection");
            throw _commands.Unavailable();
        }

        return await connection.SendEncodedAsync(command, encoded.WrittenSpan, cancellationToken);
    }
}
