using System.Net;

namespace SmartHub.ServiceDefaults.Redis;

/// <summary>
/// SmartHub's Redis client: one multiplexed, pipelined connection shared by all callers, plus a dedicated pub/sub
/// connection. Thread-safe. Typed commands (GET, SET, EVALSHA, XADD ...) are extension methods in <see cref="RedisCommands"/>
/// built on <see cref="ExecuteAsync"/>, so a test double only has to implement this interface.
/// </summary>
/// <remarks>
/// Do not send blocking commands (BLPOP, XREADGROUP BLOCK, WAIT) on the shared client: replies come back in order, so a
/// blocked command delays every caller behind it. Create a separate <see cref="RedisConnection"/> for those.
/// </remarks>
public interface IRedisClient
{
    /// <summary>The Redis server's host and port (never the password).</summary>
    DnsEndPoint EndPoint { get; }

    /// <summary>True while the command connection is open.</summary>
    bool IsConnected { get; }

    /// <summary>
    /// Sends one command, e.g. <c>ExecuteAsync("HINCRBY", [key, field, 1], ct)</c>. <paramref name="command"/> is one
    /// word; subcommands are arguments (<c>ExecuteAsync("CLIENT", ["GETNAME"])</c>). Arguments are encoded before this
    /// method returns, so the span (and pooled arrays behind it) may be reused at once.
    /// </summary>
    /// <exception cref="RedisServerException">Redis answered with an error (WRONGTYPE, NOSCRIPT, ...).</exception>
    /// <exception cref="RedisConnectionException">Redis is unreachable (fails fast while reconnecting) or the connection broke.</exception>
    /// <exception cref="RedisTimeoutException">No reply within <see cref="RedisOptions.CommandTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    Task<RedisResult> ExecuteAsync(string command, ReadOnlySpan<RedisArg> args, CancellationToken cancellationToken = default);

    /// <summary>Sends PING and returns the round-trip time.</summary>
    Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Subscribes <paramref name="handler"/> to <paramref name="channel"/> and returns once Redis has confirmed it. After a
    /// reconnect the subscription is renewed automatically (messages published meanwhile are lost). Handlers run one at a
    /// time, in order; exceptions are logged.
    /// </summary>
    /// <exception cref="RedisConnectionException">Redis is unreachable; nothing stays registered.</exception>
    Task<RedisSubscription> SubscribeAsync(
        string channel, Func<RedisChannelMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken = default);
}
