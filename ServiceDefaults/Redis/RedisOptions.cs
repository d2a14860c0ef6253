using System.Globalization;
using System.Text;

namespace SmartHub.ServiceDefaults.Redis;

/// <summary>
/// Settings of one Redis endpoint, parsed from a StackExchange.Redis / Aspire connection string such as
/// <c>127.0.0.1:6379,password=secret,abortConnect=false</c> (what the AppHost injects as <c>ConnectionStrings__cache</c>).
/// <see cref="ToString"/> never reveals the password.
/// </summary>
public sealed record RedisOptions
{
    public const int DefaultPort = 6379;

    public required string Host { get; init; }

    public int Port { get; init; } = DefaultPort;

    /// <summary>ACL user name (<c>user=</c>); null authenticates as the default user.</summary>
    public string? User { get; init; }

    /// <summary>Password (<c>password=</c>); null sends no AUTH.</summary>
    public string? Password { get; init; }

    /// <summary>Database selected on connect (<c>defaultDatabase=</c>).</summary>
    public int Database { get; init; }

    /// <summary>Time allowed for TCP connect plus the AUTH/SELECT handshake (<c>connectTimeout=</c>, ms).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Time allowed for one command's reply (<c>asyncTimeout=</c>, else <c>syncTimeout=</c>, ms).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// <c>abortConnect=</c>. Informational: <see cref="RedisConnection.Create"/> never aborts (it keeps reconnecting in the
    /// background), <see cref="RedisConnection.ConnectAsync"/> always throws when the first attempt fails.
    /// </summary>
    public bool AbortConnect { get; init; } = true;

    /// <summary>Client name sent with CLIENT SETNAME (<c>name=</c>).</summary>
    public string? ClientName { get; init; }

    /// <summary>"host:port" (IPv6 hosts in brackets), for messages and logs.</summary>
    public string Address => Host.Contains(':', StringComparison.Ordinal)
        ? $"[{Host}]:{Port.ToString(CultureInfo.InvariantCulture)}"
        : $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Parses a StackExchange.Redis-style connection string. Unknown keys are ignored.</summary>
    /// <exception cref="ArgumentException">The string is empty, has no endpoint, or a known key has a bad value.</exception>
    public static RedisOptions Parse(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        string? host = null;
        var port = DefaultPort;
        string? user = null, password = null, name = null;
        var database = 0;
        var abortConnect = true;
        TimeSpan connectTimeout = TimeSpan.FromSeconds(5);
        TimeSpan? syncTimeout = null, asyncTimeout = null;

        foreach (var token in connectionString.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = token.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                // Endpoints: only the first one is used (a single Redis, no cluster/sentinel support).
                if (host is null)
                {
                    (host, port) = ParseEndPoint(token);
                }

                continue;
            }

            var key = token[..eq].Trim();
            var value = token[(eq + 1)..].Trim();
            switch (key.ToUpperInvariant())
            {
                case "PASSWORD":
                    password = value.Length == 0 ? null : value;
                    break;
                case "USER":
                    user = value.Length == 0 ? null : value;
                    break;
                case "SSL":
                    if (ParseBool(key, value))
                    {
                        throw new ArgumentException(
                            "The Redis connection string sets ssl=true, which is not supported: SmartHub's Redis client speaks plain TCP. "
                            + "Reach Redis over a private network or loopback, or put a TLS proxy (e.g. stunnel) in front of it.",
                            nameof(connectionString));
                    }

                    break;
                case "DEFAULTDATABASE":
                    database = ParseInt(key, value, min: 0);
                    break;
                case "CONNECTTIMEOUT":
                    connectTimeout = ParseMilliseconds(key, value);
                    break;
                case "SYNCTIMEOUT":
                    syncTimeout = ParseMilliseconds(key, value);
                    break;
                case "ASYNCTIMEOUT":
                    asyncTimeout = ParseMilliseconds(key, value);
                    break;
                case "ABORTCONNECT":
                    abortConnect = ParseBool(key, value);
                    break;
                case "NAME":
                    name = value.Length == 0 ? null : value;
                    break;
                default:
                    break; // Unknown or irrelevant (allowAdmin, keepAlive, $COMMAND renames, ...): ignored.
            }
        }

        if (host is null)
        {
            throw new ArgumentException(
                "The Redis connection string has no endpoint: expected host:port first, e.g. \"localhost:6379,password=...\".",
                nameof(connectionString));
        }

        return new RedisOptions
        {
            Host = host,
            Port = port,
            User = user,
            Password = password,
            Database = database,
            ConnectTimeout = connectTimeout,
            CommandTimeout = asyncTimeout ?? syncTimeout ?? TimeSpan.FromSeconds(5),
            AbortConnect = abortConnect,
            ClientName = name,
        };
    }

    /// <summary>The connection string without the password (it shows as <c>password=*****</c>).</summary>
    public override string ToString()
    {
        var text = new StringBuilder(Address);
        if (User is not null)
        {
            text.Append(",user=").Append(User);
        }

        if (Password is not null)
        {
            text.Append(",password=*****");
        }

        text.Append(CultureInfo.InvariantCulture, $",defaultDatabase={Database}")
            .Append(CultureInfo.InvariantCulture, $",connectTimeout={(long)ConnectTimeout.TotalMilliseconds}")
            .Append(CultureInfo.InvariantCulture, $",asyncTimeout={(long)CommandTimeout.TotalMilliseconds}")
            .Append(",abortConnect=").Append(AbortConnect ? "true" : "false");
        if (ClientName is not null)
        {
            text.Append(",name=").Append(ClientName);
        }

        return text.ToString();
    }

    /// <summary>Checks values set directly (not through <see cref="Parse"/>).</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host))
        {
            throw new ArgumentException("RedisOptions.Host is required.");
        }

        if (Port is < 1 or > 65535)
        {
            throw new ArgumentException($"RedisOptions.Port {Port} is out of range 1..65535.");
        }

        if (Database < 0)
        {
            throw new ArgumentException($"RedisOptions.Database {Database} is negative.");
        }

        if (ConnectTimeout <= TimeSpan.Zero || CommandTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("RedisOptions.ConnectTimeout and CommandTimeout must be positive.");
        }
    }

    private static (string Host, int Port) ParseEndPoint(string text)
    {
        string host;
        string? portText = null;
        if (text.StartsWith('['))
        {
            // [::1]:6379 or [::1]
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new ArgumentException($"Invalid Redis endpoint '{text}': missing ']'.");
            }

            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    throw new ArgumentException($"Invalid Redis endpoint '{text}'.");
                }

                portText = rest[1..];
            }
        }
        else
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && colon == text.LastIndexOf(':'))
            {
                host = text[..colon];
                portText = text[(colon + 1)..];
            }
            else
            {
                host = text; // a name, an IPv4 address, or a bare IPv6 address without port
            }
        }

        if (host.Length == 0)
        {
            throw new ArgumentException($"Invalid Redis endpoint '{text}': empty host.");
        }

        var port = DefaultPort;
        if (portText is not null
            && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            throw new ArgumentException($"Invalid Redis endpoint '{text}': the port must be a number 1..65535.");
        }

        return (host, port);
    }

    private static bool ParseBool(string key, string value) => bool.TryParse(value, out var result)
        ? result
        : throw new ArgumentException($"Invalid value '{value}' for '{key}' in the Redis connection string: expected true or false.");

    private static int ParseInt(string key, string value, int min) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var result) && result >= min
            ? result
            : throw new ArgumentException(
                $"Invalid value '{value}' for '{key}' in the Redis connection string: expected an integer >= {min}.");

    private static TimeSpan ParseMilliseconds(string key, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms > 0
            ? TimeSpan.FromMilliseconds(ms)
            : throw new ArgumentException(
                $"Invalid value '{value}' for '{key}' in the Redis connection string: expected a positive number of milliseconds.");
}
