using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace SmartHub.ServiceDefaults.Redis;

/// <summary>
/// Keeps one <see cref="RespConnection"/> alive: connects in the background, and after a failure reconnects with
/// exponential backoff (50 ms doubling to 5 s, with jitter). Callers take <see cref="Current"/> and fail fast when it is
/// null; only before the first attempt has finished may they wait for it (<see cref="FirstAttempt"/>).
/// </summary>
internal sealed class ConnectionSupervisor : IAsyncDisposable
{
    internal static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(50);
    internal static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly RedisOptions _options;
    private readonly string _role;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Action<RedisResult>? _pushHandler;
    private readonly Func<RespConnection, CancellationToken, Task>? _onConnected;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _startLock = new();
    private volatile RespConnection? _current;
    private volatile string _lastError = "not connected yet";
    private Exception? _lastException;
    private Task? _loop;

    /// <param name="role">"commands" or "subscriptions", for logs.</param>
    /// <param name="pushHandler">Receives pub/sub deliveries (subscriber connection only).</param>
    /// <param name="onConnected">Runs on each new connection before it is published (resubscribe).</param>
    public ConnectionSupervisor(
        RedisOptions options,
        string role,
        TimeProvider timeProvider,
        ILogger logger,
        Action<RedisResult>? pushHandler = null,
        Func<RespConnection, CancellationToken, Task>? onConnected = null)
    {
        _options = options;
        _role = role;
        _timeProvider = timeProvider;
        _logger = logger;
        _pushHandler = pushHandler;
        _onConnected = onConnected;
    }

    /// <summary>The open connection, or null while disconnected.</summary>
    public RespConnection? Current
    {
        get
        {
            var current = _current;
            return current is not null && current.IsOpen ? current : null;
        }
    }

    /// <summary>Completes (never faults) when the first connection attempt has succeeded or failed.</summary>
    public Task FirstAttempt => _firstAttempt.Task;

    public void Start()
    {
        lock (_startLock)
        {
            _loop ??= Task.Run(RunAsync);
        }
    }

    /// <summary>The fail-fast error for commands issued while disconnected.</summary>
    public RedisConnectionException Unavailable() =>
        new($"Redis at {_options.Address} is unavailable: {_lastError}", _lastException);

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync();
        _lastError = "the client was disposed";
        _current?.Abort("the client was disposed");
        Task? loop;
        lock (_startLock)
        {
            loop = _loop;
        }

        if (loop is not null)
        {
            await loop;
        }

        if (_current is { } last)
        {
            await last.DisposeAsync();
        }

        _firstAttempt.TrySetResult();
        _stop.Dispose();
    }

    internal static TimeSpan Backoff(int failures)
    {
        var ms = MinBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 16));
        ms = Math.Min(ms, MaxBackoff.TotalMilliseconds);
#pragma warning disable CA5394 // jitter, not security
        ms *= 0.8 + (Random.Shared.NextDouble() * 0.4);
#pragma warning restore CA5394
        return TimeSpan.FromMilliseconds(ms);
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        var failures = 0;
        var everConnected = false;
        while (!token.IsCancellationRequested)
        {
            RespConnection? connection = null;
            try
            {
                connection = await RespConnection.ConnectAsync(_options, _pushHandler, _timeProvider, _logger, token);
                if (_onConnected is not null)
                {
                    await _onConnected(connection, token);
                }

                _current = connection;
                _lastException = null;
                if (everConnected)
                {
                    RedisTelemetry.Reconnects.Add(1);
                    _logger.LogInformation("Redis {Role} connection to {Address} re-established after {Failures} failed attempts",
                        _role, _options.Address, failures);
                }
                else
                {
                    _logger.LogInformation("Redis {Role} connection to {Address} established", _role, _options.Address);
                }

                everConnected = true;
                failures = 0;
                _firstAttempt.TrySetResult();

                var reason = await connection.Closed;
                _lastError = reason;
                await connection.DisposeAsync();
                if (token.IsCancellationRequested)
                {
                    break;
                }

                _logger.LogWarning("Redis {Role} connection to {Address} lost ({Reason}); reconnecting", _role, _options.Address, reason);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                }

                break;
            }
#pragma warning disable CA1031 // any failure means: record it, back off, retry
            catch (Exception ex)
#pragma warning restore CA1031
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync(); // a failed onConnected (resubscribe)
                }

                _lastException = ex;
                _lastError = Describe(ex);
                if (failures == 0)
                {
                    _logger.LogWarning("Redis {Role} connection to {Address} failed: {Error}; retrying in the background",
                        _role, _options.Address, _lastError);
                }
                else
                {
                    _logger.LogDebug("Redis {Role} connection to {Address} failed again (attempt {Attempt}): {Error}",
                        _role, _options.Address, failures + 1, _lastError);
                }

                failures++;
                _firstAttempt.TrySetResult();
            }

            try
            {
                await Task.Delay(Backoff(failures), _timeProvider, token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private static string Describe(Exception ex) => ex switch
    {
        RedisHandshakeException => ex.Message,
        SocketException socket => $"{socket.Message} ({socket.SocketErrorCode.ToString()})",
        TimeoutException => ex.Message,
        RedisException => ex.Message,
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{_role} connection to {_options.Address}");
}
