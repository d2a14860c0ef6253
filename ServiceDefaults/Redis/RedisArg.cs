using System.Buffers;
using System.Buffers.Text;
using System.Globalization;

namespace SmartHub.ServiceDefaults.Redis;

/// <summary>
/// One command argument: text (sent as UTF-8), raw bytes, an integer or a floating-point number. Converts implicitly,
/// so calls read <c>ExecuteAsync("INCRBY", ["counter", 5], ct)</c>. Values are encoded straight into the socket buffer.
/// </summary>
public readonly struct RedisArg
{
    private readonly string? _text;
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly long _number; // long value, or the bits of a double
    private readonly Kind _kind;

    private RedisArg(Kind kind, string? text, ReadOnlyMemory<byte> bytes, long number)
    {
        _kind = kind;
        _text = text;
        _bytes = bytes;
        _number = number;
    }

    private enum Kind : byte
    {
        None = 0,
        Text,
        Bytes,
        Integer,
        Double,
    }

    /// <summary>False for <c>default(RedisArg)</c> and for a null string or byte array.</summary>
    public bool HasValue => _kind != Kind.None;

    public static implicit operator RedisArg(string? value) => FromString(value);

    public static implicit operator RedisArg(byte[]? value) => FromBytes(value);

    public static implicit operator RedisArg(ReadOnlyMemory<byte> value) => FromBytes(value);

    public static implicit operator RedisArg(long value) => FromInt64(value);

    public static implicit operator RedisArg(double value) => FromDouble(value);

    public static implicit operator RedisArg(bool value) => FromBoolean(value);

    public static RedisArg FromString(string? value) => value is null ? default : new(Kind.Text, value, default, 0);

    public static RedisArg FromBytes(byte[]? value) => value is null ? default : new(Kind.Bytes, null, value, 0);

    public static RedisArg FromBytes(ReadOnlyMemory<byte> value) => new(Kind.Bytes, null, value, 0);

    public static RedisArg FromInt64(long value) => new(Kind.Integer, null, default, value);

    public static RedisArg FromDouble(double value) => new(Kind.Double, null, default, BitConverter.DoubleToInt64Bits(value));

    /// <summary>Booleans travel as "1" / "0", as Redis expects for flags and Lua arguments.</summary>
    public static RedisArg FromBoolean(bool value) => FromInt64(value ? 1 : 0);

    public override string ToString() => _kind switch
    {
        Kind.Text => _text!,
        Kind.Bytes => $"<{_bytes.Length} bytes>",
        Kind.Integer => _number.ToString(CultureInfo.InvariantCulture),
        Kind.Double => FormatDouble(BitConverter.Int64BitsToDouble(_number)),
        _ => "<null>",
    };

    /// <summary>Throws for values Redis cannot take, before anything is written.</summary>
    internal void Validate(int position)
    {
        if (_kind == Kind.None)
        {
            throw new ArgumentException($"Redis command argument {position} is null; Redis has no null argument (use an empty string).");
        }

        if (_kind == Kind.Double && double.IsNaN(BitConverter.Int64BitsToDouble(_number)))
        {
            throw new ArgumentException($"Redis command argument {position} is NaN, which Redis does not accept.");
        }
    }

    /// <summary>Writes the argument as a RESP bulk string.</summary>
    internal void WriteTo(IBufferWriter<byte> writer)
    {
        switch (_kind)
        {
            case Kind.Text:
                RespWriter.WriteBulkString(writer, _text!);
                break;
            case Kind.Bytes:
                RespWriter.WriteBulkBytes(writer, _bytes.Span);
                break;
            case Kind.Integer:
                {
                    Span<byte> digits = stackalloc byte[20];
                    Utf8Formatter.TryFormat(_number, digits, out var written);
                    RespWriter.WriteBulkBytes(writer, digits[..written]);
                    break;
                }

            case Kind.Double:
                {
                    var value = BitConverter.Int64BitsToDouble(_number);
                    Span<byte> digits = stackalloc byte[32];
                    if (double.IsInfinity(value) || !value.TryFormat(digits, out var written, "R", CultureInfo.InvariantCulture))
                    {
                        RespWriter.WriteBulkString(writer, FormatDouble(value));
                    }
                    else
                    {
                        RespWriter.WriteBulkBytes(writer, digits[..written]);
                    }

                    break;
                }

            default:
                throw new InvalidOperationException("Null Redis argument.");
        }
    }

    private static string FormatDouble(double value) =>
        double.IsPositiveInfinity(value) ? "+inf"
        : double.IsNegativeInfinity(value) ? "-inf"
        : value.ToString("R", CultureInfo.InvariantCulture);
}
