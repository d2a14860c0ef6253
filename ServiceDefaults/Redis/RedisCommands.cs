using System.Buffers;

namespace SmartHub.ServiceDefaults.Redis;

/// <summary>Condition of a SET: always, only if the key does not exist (NX), or only if it exists (XX).</summary>
public enum When
{
    Always,
    NotExists,
    Exists,
}

/// <summary>A stream entry read with XREADGROUP: its id and field/value pairs in order (empty if the entry was deleted).</summary>
public sealed record RedisStreamEntry(string Id, IReadOnlyList<KeyValuePair<string, RedisResult>> Fields)
{
    /// <summary>The first value of <paramref name="field"/>, or null.</summary>
    public RedisResult this[string field]
    {
        get
        {
            foreach (var pair in Fields)
            {
                if (pair.Key == field)
                {
                    return pair.Value;
                }
            }

            return RedisResult.Null;
        }
    }
}

/// <summary>Typed Redis commands over <see cref="IRedisClient.ExecuteAsync"/>.</summary>
public static class RedisCommands
{
    /// <summary>A command without arguments (PING, DBSIZE, TIME ...).</summary>
    public static Task<RedisResult> ExecuteAsync(this IRedisClient client, string command, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.ExecuteAsync(command, [], cancellationToken);
    }

    // ---- strings and keys -------------------------------------------------------------------------------------

    /// <summary>GET: the value as UTF-8 text, or null when the key does not exist.</summary>
    public static async Task<string?> GetAsync(this IRedisClient client, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return (await client.ExecuteAsync("GET", [key], cancellationToken)).AsString();
    }

    /// <summary>GET: the raw value, or null when the key does not exist.</summary>
    public static async Task<byte[]?> GetBytesAsync(this IRedisClient client, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return (await client.ExecuteAsync("GET", [key], cancellationToken)).AsBytes();
    }

    /// <summary>SET with optional expiry (PX) and condition (NX/XX); false when the condition prevented the write.</summary>
    public static Task<bool> SetAsync(
        this IRedisClient client,
        string key,
        RedisArg value,
        TimeSpan? expiry = null,
        When when = When.Always,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var condition = when switch
        {
            When.Always => null,
            When.NotExists => "NX",
            When.Exists => "XX",
            _ => throw new ArgumentOutOfRangeException(nameof(when)),
        };

        Task<RedisResult> reply;
        if (expiry is { } ttl)
        {
            var ms = ToMilliseconds(ttl, nameof(expiry));
            reply = condition is null
                ? client.ExecuteAsync("SET", [key, value, "PX", ms], cancellationToken)
                : client.ExecuteAsync("SET", [key, value, "PX", ms, condition], cancellationToken);
        }
        else
        {
            reply = condition is null
                ? client.ExecuteAsync("SET", [key, value], cancellationToken)
                : client.ExecuteAsync("SET", [key, value, condition], cancellationToken);
        }

        return AsBooleanAsync(reply);
    }

    /// <summary>DEL: true when the key existed.</summary>
    public static Task<bool> DeleteAsync(this IRedisClient client, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return AsBooleanAsync(client.ExecuteAsync("DEL", [key], cancellationToken));
    }

    /// <summary>EXISTS for one key.</summary>
    public static Task<bool> KeyExistsAsync(this IRedisClient client, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return AsBooleanAsync(client.ExecuteAsync("EXISTS", [key], cancellationToken));
    }

    /// <summary>INCR / INCRBY: the new value.</summary>
    public static Task<long> IncrementAsync(this IRedisClient client, string key, long by = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return AsLongAsync(by == 1
            ? client.ExecuteAsync("INCR", [key], cancellationToken)
            : client.ExecuteAsync("INCRBY", [key, by], cancellationToken));
    }

    /// <summary>PEXPIRE: false when the key does not exist.</summary>
    public static Task<bool> ExpireAsync(this IRedisClient client, string key, TimeSpan expiry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return AsBooleanAsync(client.ExecuteAsync("PEXPIRE", [key, ToMilliseconds(expiry, nameof(expiry))], cancellationToken));
    }

    /// <summary>PTTL: the remaining time to live, or null when the key does not exist or has no expiry.</summary>
    public static async Task<TimeSpan?> TimeToLiveAsync(this IRedisClient client, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var ms = (await client.ExecuteAsync("PTTL", [key], cancellationToken)).AsLong();
        return ms < 0 ? null : TimeSpan.FromMilliseconds(ms);
    }

    // ---- hashes -----------------------------------------------------------------------------------------------

    /// <summary>HSET of one field: true when the field is new.</summary>
    public static Task<bool> HashSetAsync(
        this IRedisClient client, string key, string field, RedisArg value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return AsBooleanAsync(client.ExecuteAsync("HSET", [key, field, value], cancellationToken));
    }

    /// <summary>HSET of several fields: the number of new fields.</summary>
    public static Task<long> HashSetAsync(
        this IRedisClient client, string key, ReadOnlySpan<KeyValuePair<string, RedisArg>> fields, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (fields.IsEmpty)
        {
            throw new ArgumentException("HSET needs at least one field.", nameof(fields));
        }

        var count = 1 + (fields.Length * 2);
        var args = ArrayPool<RedisArg>.Shared.Rent(count);
        try
        {
            args[0] = key;
            WritePairs(args.AsSpan(1), fields);
            return AsLongAsync(client.ExecuteAsync("HSET", args.AsSpan(0, count), cancellationToken));
        }
        finally
        {
            Return(args, count); // ExecuteAsync has encoded the arguments already
        }
    }

    /// <summary>HGET: the field's value as text, or null.</summary>
    public static async Task<string?> HashGetAsync(this IRedisClient client, string key, string field, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return (await client.ExecuteAsync("HGET", [key, field], cancellationToken)).AsString();
    }

    /// <summary>HGETALL: every field and value as text (empty when the key does not exist).</summary>
    public static async Task<Dictionary<string, string>> HashGetAllAsync(
        this IRedisClient client, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var items = (await client.ExecuteAsync("HGETALL", [key], cancellationToken)).AsArray();
        var hash = new Dictionary<string, string>(items.Count / 2, StringComparer.Ordinal);
        for (var i = 0; i + 1 < items.Count; i += 2)
        {
            hash[items[i].AsString()!] = items[i + 1].AsString() ?? "";
        }

        return hash;
    }

    // ---- pub/sub ----------------------------------------------------------------------------------------------

    /// <summary>PUBLISH: the number of subscribers that received the message.</summary>
    public static Task<long> PublishAsync(this IRedisClient client, string channel, RedisArg message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return AsLongAsync(client.ExecuteAsync("PUBLISH", [channel, message], cancellationToken));
    }

    /// <summary><see cref="IRedisClient.SubscribeAsync"/> with a synchronous handler.</summary>
    public static Task<RedisSubscription> SubscribeAsync(
        this IRedisClient client, string channel, Action<RedisChannelMessage> handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(handler);
        return client.SubscribeAsync(
            channel,
            (message, _) =>
            {
                handler(message);
                return ValueTask.CompletedTask;
            },
            cancellationToken);
    }

    // ---- streams ----------------------------------------------------------------------------------------------

    /// <summary>
    /// XADD with an auto id: returns the new entry's id. With <paramref name="maxLenApprox"/> the stream is capped with
    /// <c>MAXLEN ~ n</c> (Redis trims whole nodes, so it may keep somewhat more than n entries).
    /// </summary>
    public static Task<string> StreamAddAsync(
        this IRedisClient client,
        string key,
        ReadOnlySpan<KeyValuePair<string, RedisArg>> fields,
        long? maxLenApprox = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (fields.IsEmpty)
        {
            throw new ArgumentException("XADD needs at least one field.", nameof(fields));
        }

        if (maxLenApprox is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLenApprox), "MAXLEN must not be negative.");
        }

        var count = 2 + (maxLenApprox is null ? 0 : 3) + (fields.Length * 2);
        var args = ArrayPool<RedisArg>.Shared.Rent(count);
        try
        {
            var i = 0;
            args[i++] = key;
            if (maxLenApprox is { } maxLen)
            {
                args[i++] = "MAXLEN";
                args[i++] = "~";
                args[i++] = maxLen;
            }

            args[i++] = "*";
            WritePairs(args.AsSpan(i), fields);
            return AsStringAsync(client.ExecuteAsync("XADD", args.AsSpan(0, count), cancellationToken));
        }
        finally
        {
            Return(args, count);
        }
    }

    /// <summary>XLEN.</summary>
    public static Task<long> StreamLengthAsync(this IRedisClient client, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return AsLongAsync(client.ExecuteAsync("XLEN", [key], cancellationToken));
    }

    /// <summary>XGROUP CREATE ... MKSTREAM: false when the group already exists.</summary>
    public static async Task<bool> StreamCreateConsumerGroupAsync(
        this IRedisClient client, string key, string group, string startId = "$", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        try
        {
            await client.ExecuteAsync("XGROUP", ["CREATE", key, group, startId, "MKSTREAM"], cancellationToken);
            return true;
        }
        catch (RedisServerException ex) when (ex.ErrorCode == "BUSYGROUP")
        {
            return false;
        }
    }

    /// <summary>
    /// XREADGROUP GROUP g c COUNT n STREAMS key id, without BLOCK (a blocking read would stall the shared connection;
    /// poll, or use a dedicated <see cref="RedisConnection"/>). <paramref name="id"/> ">" reads new entries, "0" re-reads
    /// this consumer's pending ones.
    /// </summary>
    public static async Task<IReadOnlyList<RedisStreamEntry>> StreamReadGroupAsync(
        this IRedisClient client,
        string key,
        string group,
        string consumer,
        int count,
        string id = ">",
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var reply = await client.ExecuteAsync(
            "XREADGROUP", ["GROUP", group, consumer, "COUNT", count, "STREAMS", key, id], cancellationToken);
        var entries = new List<RedisStreamEntry>();
        foreach (var stream in reply.AsArray()) // [[key, [[id, [f, v, ...]], ...]]]
        {
            var streamItems = stream.AsArray();
            if (streamItems.Count >= 2)
            {
                AddEntries(streamItems[1], entries);
            }
        }

        return entries;
    }

    /// <summary>
    /// XAUTOCLAIM key group consumer min-idle start COUNT n: takes over entries another consumer read but has not
    /// acknowledged for <paramref name="minIdle"/> (a consumer that crashed). Returns them and the cursor to continue
    /// from ("0-0" when the pending list was scanned to its end).
    /// </summary>
    public static async Task<(IReadOnlyList<RedisStreamEntry> Entries, string Next)> StreamAutoClaimAsync(
        this IRedisClient client,
        string key,
        string group,
        string consumer,
        TimeSpan minIdle,
        int count,
        string start = "0-0",
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var reply = (await client.ExecuteAsync(
            "XAUTOCLAIM", [key, group, consumer, (long)minIdle.TotalMilliseconds, start, "COUNT", count], cancellationToken)).AsArray();
        var entries = new List<RedisStreamEntry>();
        if (reply.Count >= 2)
        {
            AddEntries(reply[1], entries);
        }

        return (entries, reply.Count > 0 ? reply[0].AsString() ?? "0-0" : "0-0");
    }

    /// <summary>XDEL: removes entries from the stream (after every consumer group has stored them).</summary>
    public static Task<long> StreamDeleteAsync(this IRedisClient client, string key, ReadOnlySpan<string> ids, CancellationToken cancellationToken = default) =>
        KeyAndIdsAsync(client, "XDEL", key, null, ids, cancellationToken);

    // [[id, [f, v, ...]], ...]; an entry deleted while pending comes back as [id, nil] and is skipped.
    private static void AddEntries(RedisResult list, List<RedisStreamEntry> entries)
    {
        foreach (var entry in list.AsArray())
        {
            var parts = entry.AsArray();
            if (parts.Count < 2 || parts[1].IsNull)
            {
                continue;
            }

            var values = parts[1].AsArray();
            var fields = new KeyValuePair<string, RedisResult>[values.Count / 2];
            for (var i = 0; i < fields.Length; i++)
            {
                fields[i] = new(values[2 * i].AsString()!, values[(2 * i) + 1]);
            }

            entries.Add(new RedisStreamEntry(parts[0].AsString()!, fields));
        }
    }

    /// <summary>XACK: the number of entries acknowledged.</summary>
    public static Task<long> StreamAcknowledgeAsync(
        this IRedisClient client, string key, string group, ReadOnlySpan<string> ids, CancellationToken cancellationToken = default) =>
        KeyAndIdsAsync(client, "XACK", key, group, ids, cancellationToken);

    // COMMAND key [group] id... -> integer
    private static Task<long> KeyAndIdsAsync(
        IRedisClient client, string command, string key, string? group, ReadOnlySpan<string> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (ids.IsEmpty)
        {
            return Task.FromResult(0L);
        }

        var head = group is null ? 1 : 2;
        var count = head + ids.Length;
        var args = ArrayPool<RedisArg>.Shared.Rent(count);
        try
        {
            args[0] = key;
            if (group is not null)
            {
                args[1] = group;
            }

            for (var i = 0; i < ids.Length; i++)
            {
                args[head + i] = ids[i];
            }

            return AsLongAsync(client.ExecuteAsync(command, args.AsSpan(0, count), cancellationToken));
        }
        finally
        {
            Return(args, count);
        }
    }

    // ---- scripts ----------------------------------------------------------------------------------------------

    /// <summary>SCRIPT LOAD: caches the script on the server; returns its SHA1.</summary>
    public static Task<string> ScriptLoadAsync(this IRedisClient client, LuaScript script, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(script);
        return AsStringAsync(client.ExecuteAsync("SCRIPT", ["LOAD", script.Source], cancellationToken));
    }

    /// <summary>
    /// EVALSHA with the script's cached SHA1; on NOSCRIPT (server restarted, SCRIPT FLUSH) sends EVAL with the source,
    /// which also re-caches it. Lua errors surface as <see cref="RedisServerException"/>.
    /// </summary>
    public static Task<RedisResult> ScriptEvaluateAsync(
        this IRedisClient client,
        LuaScript script,
        ReadOnlySpan<RedisArg> keys,
        ReadOnlySpan<RedisArg> args,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(script);
        var count = 2 + keys.Length + args.Length; // sha|source, numkeys, keys..., args...
        var buffer = ArrayPool<RedisArg>.Shared.Rent(count);
        buffer[0] = script.Sha1;
        buffer[1] = keys.Length;
        keys.CopyTo(buffer.AsSpan(2));
        args.CopyTo(buffer.AsSpan(2 + keys.Length));
        return EvaluateAsync(client, script, buffer, count, cancellationToken);
    }

    private static async Task<RedisResult> EvaluateAsync(
        IRedisClient client, LuaScript script, RedisArg[] buffer, int count, CancellationToken cancellationToken)
    {
        try
        {
            try
            {
                var evalSha = client.ExecuteAsync("EVALSHA", buffer.AsSpan(0, count), cancellationToken);
                return await evalSha;
            }
            catch (RedisServerException ex) when (ex.ErrorCode == "NOSCRIPT")
            {
                buffer[0] = script.Source;
                var eval = client.ExecuteAsync("EVAL", buffer.AsSpan(0, count), cancellationToken);
                return await eval;
            }
        }
        finally
        {
            Return(buffer, count);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private static void WritePairs(Span<RedisArg> target, ReadOnlySpan<KeyValuePair<string, RedisArg>> pairs)
    {
        for (var i = 0; i < pairs.Length; i++)
        {
            target[2 * i] = pairs[i].Key;
            target[(2 * i) + 1] = pairs[i].Value;
        }
    }

    private static void Return(RedisArg[] args, int count)
    {
        args.AsSpan(0, count).Clear(); // do not keep callers' strings alive in the pool
        ArrayPool<RedisArg>.Shared.Return(args);
    }

    private static long ToMilliseconds(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, "Expiry must be positive.");
        }

        return Math.Max(1, (long)Math.Ceiling(value.TotalMilliseconds));
    }

    private static async Task<bool> AsBooleanAsync(Task<RedisResult> reply) => (await reply).AsBoolean();

    private static async Task<long> AsLongAsync(Task<RedisResult> reply) => (await reply).AsLong();

    private static async Task<string> AsStringAsync(Task<RedisResult> reply) =>
        (await reply).AsString() ?? throw new InvalidCastException("Unexpected null reply from Redis.");
}
