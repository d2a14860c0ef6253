namespace SmartHub.ServiceDefaults.Redis;

/// <summary>Base of every error raised by the Redis client.</summary>
public class RedisException : Exception
{
    public RedisException()
    {
    }

    public RedisException(string message)
        : base(message)
    {
    }

    public RedisException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Redis cannot be reached: not connected (reconnecting in the background), the connection broke while the command
/// was in flight, or the handshake (AUTH/SELECT) failed. A command that fails this way may or may not have run.
/// </summary>
public sealed class RedisConnectionException : RedisException
{
    public RedisConnectionException()
    {
    }

    public RedisConnectionException(string message)
        : base(message)
    {
    }

    public RedisConnectionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Redis answered with an error reply (WRONGTYPE, NOSCRIPT, ERR ...); <see cref="Exception.Message"/> is the server's text.</summary>
public sealed class RedisServerException : RedisException
{
    public RedisServerException()
    {
    }

    public RedisServerException(string message)
        : base(message)
    {
    }

    public RedisServerException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The error's first word ("ERR", "WRONGTYPE", "NOSCRIPT", "WRONGPASS", ...).</summary>
    public string ErrorCode
    {
        get
        {
            var space = Message.IndexOf(' ', StringComparison.Ordinal);
            return space < 0 ? Message : Message[..space];
        }
    }
}

/// <summary>No reply within the command timeout (<see cref="RedisOptions.CommandTimeout"/>). The command may still run.</summary>
public sealed class RedisTimeoutException : RedisException
{
    public RedisTimeoutException()
    {
    }

    public RedisTimeoutException(string message)
        : base(message)
    {
    }

    public RedisTimeoutException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The server sent bytes that are not valid RESP2; the connection is dropped and re-established.</summary>
public sealed class RedisProtocolException : RedisException
{
    public RedisProtocolException()
    {
    }

    public RedisProtocolException(string message)
        : base(message)
    {
    }

    public RedisProtocolException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
