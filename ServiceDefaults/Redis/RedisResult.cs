using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace SmartHub.ServiceDefaults.Redis;

public enum RedisResultType : byte
{
    /// <summary>Null bulk string (<c>$-1</c>) or null array (<c>*-1</c>).</summary>
    Null = 0,
    SimpleString,
    BulkString,
#pragma warning disable CA1720 // RESP's own name for the type
    Integer,
#pragma warning restore CA1720
    Array,

    /// <summary>An error inside an array (EXEC, Lua tables). A top-level error reply is thrown as <see cref="RedisServerException"/>.</summary>
    Error,
}

/// <summary>A RESP2 reply: null, simple string, bulk string (bytes), integer, array or error. <c>default</c> is null.</summary>
public readonly struct RedisResult
{
    private static readonly RedisResult[] EmptyItems = [];

    private readonly object? _value; // string (simple, error), byte[] (bulk), RedisResult[] (array)
    private readonly long _integer;

    private RedisResult(RedisResultType type, object? value, long integer)
    {
        Type = type;
        _value = value;
        _integer = integer;
    }

    public static RedisResult Null => default;

    public RedisResultType Type { get; }

    public bool IsNull => Type == RedisResultType.Null;

    public bool IsError => Type == RedisResultType.Error;

    /// <summary>The server's message when <see cref="Type"/> is <see cref="RedisResultType.Error"/>, else null.</summary>
    public string? ErrorMessage => Type == RedisResultType.Error ? (string)_value! : null;

    public static RedisResult FromSimpleString(string value) => new(RedisResultType.SimpleString, value ?? throw new ArgumentNullException(nameof(value)), 0);

    public static RedisResult FromBulkString(byte[]? value) => value is null ? default : new(RedisResultType.BulkString, value, 0);

    public static RedisResult FromBulkString(string? value) => value is null ? default : new(RedisResultType.BulkString, Encoding.UTF8.GetBytes(value), 0);

    public static RedisResult FromInteger(long value) => new(RedisResultType.Integer, null, value);

    public static RedisResult FromArray(RedisResult[]? items) => items is null ? default : new(RedisResultType.Array, items, 0);

    public static RedisResult FromError(string message) => new(RedisResultType.Error, message ?? throw new ArgumentNullException(nameof(message)), 0);

    internal static RedisResult EmptyArray => new(RedisResultType.Array, EmptyItems, 0);

    /// <summary>Text of a string reply (bulk decoded as UTF-8), an integer as digits, or null for a null reply.</summary>
    /// <exception cref="RedisServerException">The value is an error.</exception>
    /// <exception cref="InvalidCastException">The value is an array.</exception>
    public string? AsString() => Type switch
    {
        RedisResultType.Null => null,
        RedisResultType.SimpleString => (string)_value!,
        RedisResultType.BulkString => Encoding.UTF8.GetString((byte[])_value!),
        RedisResultType.Integer => _integer.ToString(CultureInfo.InvariantCulture),
        RedisResultType.Error => throw new RedisServerException((string)_value!),
        _ => throw InvalidCast("a string"),
    };

    /// <summary>Bytes of a bulk string (the reply's own buffer, not a copy), UTF-8 of other scalars, null for a null reply.</summary>
    public byte[]? AsBytes() => Type switch
    {
        RedisResultType.Null => null,
        RedisResultType.BulkString => (byte[])_value!,
        RedisResultType.SimpleString => Encoding.UTF8.GetBytes((string)_value!),
        RedisResultType.Integer => Encoding.UTF8.GetBytes(_integer.ToString(CultureInfo.InvariantCulture)),
        RedisResultType.Error => throw new RedisServerException((string)_value!),
        _ => throw InvalidCast("bytes"),
    };

    /// <summary>An integer reply, or a string reply holding an integer.</summary>
    /// <exception cref="InvalidCastException">Null, an array, or text that is not an integer.</exception>
    public long AsLong() => AsNullableLong() ?? throw InvalidCast("an integer");

    /// <summary>Like <see cref="AsLong"/>, but null for a null reply.</summary>
    public long? AsNullableLong()
    {
        switch (Type)
        {
            case RedisResultType.Null:
                return null;
            case RedisResultType.Integer:
                return _integer;
            case RedisResultType.BulkString:
                var bytes = (byte[])_value!;
                if (Utf8Parser.TryParse(bytes, out long parsed, out var consumed) && consumed == bytes.Length)
                {
                    return parsed;
                }

                throw InvalidCast("an integer");
            case RedisResultType.SimpleString:
                if (long.TryParse((string)_value!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
                {
                    return value;
                }

                throw InvalidCast("an integer");
            case RedisResultType.Error:
                throw new RedisServerException((string)_value!);
            default:
                throw InvalidCast("an integer");
        }
    }

    /// <summary>A number reply (Redis sends floats as bulk strings, e.g. INCRBYFLOAT, ZSCORE).</summary>
    public double AsDouble()
    {
        if (Type == RedisResultType.Integer)
        {
            return _integer;
        }

        var text = AsString() ?? throw InvalidCast("a number");
        return text switch
        {
            "inf" or "+inf" => double.PositiveInfinity,
            "-inf" => double.NegativeInfinity,
            _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : throw InvalidCast("a number"),
        };
    }

    /// <summary>True for integer 1 (EXPIRE, HSET-like replies) or the simple string OK; false for 0 or null.</summary>
    public bool AsBoolean() => Type switch
    {
        RedisResultType.Null => false,
        RedisResultType.Integer => _integer != 0,
        RedisResultType.SimpleString => true,
        RedisResultType.BulkString => AsLong() != 0,
        RedisResultType.Error => throw new RedisServerException((string)_value!),
        _ => throw InvalidCast("a boolean"),
    };

    /// <summary>The items of an array reply; an empty list for a null reply (use <see cref="IsNull"/> to tell them apart).</summary>
    public IReadOnlyList<RedisResult> AsArray() => Type switch
    {
        RedisResultType.Array => (RedisResult[])_value!,
        RedisResultType.Null => EmptyItems,
        RedisResultType.Error => throw new RedisServerException((string)_value!),
        _ => throw InvalidCast("an array"),
    };

    /// <summary>True when this is a bulk string equal to <paramref name="ascii"/> (no allocation).</summary>
    internal bool IsBulk(ReadOnlySpan<byte> ascii) =>
        Type == RedisResultType.BulkString && ((byte[])_value!).AsSpan().SequenceEqual(ascii);

    public override string ToString() => Type switch
    {
        RedisResultType.Null => "(nil)",
        RedisResultType.SimpleString => (string)_value!,
        RedisResultType.BulkString => $"\"{Encoding.UTF8.GetString((byte[])_value!)}\"",
        RedisResultType.Integer => $"(integer) {_integer.ToString(CultureInfo.InvariantCulture)}",
        RedisResultType.Array => $"[{string.Join(", ", (RedisResult[])_value!)}]",
        RedisResultType.Error => $"(error) {(string)_value!}",
        _ => Type.ToString(),
    };

    private InvalidCastException InvalidCast(string wanted)
    {
        var preview = ToString();
        if (preview.Length > 80)
        {
            preview = string.Concat(preview.AsSpan(0, 80), "...");
        }

        return new InvalidCastException($"The Redis reply {preview} is not {wanted}.");
    }
}
