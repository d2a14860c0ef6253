using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace SmartHub.ServiceDefaults.Redis;

/// <summary>
/// Reads RESP2 replies from a possibly fragmented buffer. <see cref="TryRead"/> first checks, without allocating,
/// that a whole reply is present (so a big reply arriving in many packets is not materialized again and again),
/// then builds the <see cref="RedisResult"/>.
/// </summary>
internal static class RespParser
{
    public const int MaxDepth = 64;
    public const int MaxBulkLength = 512 * 1024 * 1024; // Redis' own proto-max-bulk-len default
    public const int MaxLineLength = 64 * 1024;

    private static readonly byte[] Crlf = "\r\n"u8.ToArray();

    /// <summary>
    /// Reads one complete reply and advances <paramref name="reader"/> past it; returns false, leaving the reader where
    /// it was, if the buffer holds only part of a reply.
    /// </summary>
    /// <exception cref="RedisProtocolException">The bytes are not valid RESP2.</exception>
    public static bool TryRead(ref SequenceReader<byte> reader, out RedisResult result)
    {
        var probe = reader;
        if (!TrySkip(ref probe, 0))
        {
            result = default;
            return false;
        }

        result = Read(ref reader);
        return true;
    }

    private static bool TrySkip(ref SequenceReader<byte> reader, int depth)
    {
        if (!reader.TryRead(out var prefix) || !TryReadLine(ref reader, out var line))
        {
            return false;
        }

        switch (prefix)
        {
            case (byte)'+':
            case (byte)'-':
                return true;
            case (byte)':':
                ParseInteger(line);
                return true;
            case (byte)'$':
                {
                    var length = ParseLength(line, MaxBulkLength);
                    if (length < 0)
                    {
                        return true;
                    }

                    if (reader.Remaining < length + 2L)
                    {
                        return false;
                    }

                    reader.Advance(length);
                    ExpectCrlf(ref reader);
                    return true;
                }

            case (byte)'*':
                {
                    var count = ParseLength(line, int.MaxValue);
                    if (count > 0 && depth >= MaxDepth)
                    {
                        throw new RedisProtocolException($"RESP arrays nested deeper than {MaxDepth} levels.");
                    }

                    for (var i = 0; i < count; i++)
                    {
                        // Every element takes at least 3 bytes ("+\r\n"): bail out early on a partial big array.
                        if (reader.Remaining < (count - i) * 3L || !TrySkip(ref reader, depth + 1))
                        {
                            return false;
                        }
                    }

                    return true;
                }

            default:
                throw new RedisProtocolException($"Unexpected RESP type byte 0x{prefix:X2}.");
        }
    }

    /// <summary>Materializes a reply that <see cref="TrySkip"/> has found complete.</summary>
    private static RedisResult Read(ref SequenceReader<byte> reader)
    {
        reader.TryRead(out var prefix);
        TryReadLine(ref reader, out var line);
        switch (prefix)
        {
            case (byte)'+':
                return RedisResult.FromSimpleString(DecodeSimple(line));
            case (byte)'-':
                return RedisResult.FromError(Encoding.UTF8.GetString(line));
            case (byte)':':
                return RedisResult.FromInteger(ParseInteger(line));
            case (byte)'$':
                {
                    var length = ParseLength(line, MaxBulkLength);
                    if (length < 0)
                    {
                        return RedisResult.Null;
                    }

                    var bytes = length == 0 ? [] : new byte[length];
                    reader.TryCopyTo(bytes);
                    reader.Advance(length + 2);
                    return RedisResult.FromBulkString(bytes);
                }

            default: // '*'
                {
                    var count = ParseLength(line, int.MaxValue);
                    if (count < 0)
                    {
                        return RedisResult.Null;
                    }

                    if (count == 0)
                    {
                        return RedisResult.EmptyArray;
                    }

                    var items = new RedisResult[count];
                    for (var i = 0; i < items.Length; i++)
                    {
                        items[i] = Read(ref reader);
                    }

                    return RedisResult.FromArray(items);
                }
        }
    }

    private static bool TryReadLine(ref SequenceReader<byte> reader, out ReadOnlySpan<byte> line)
    {
        if (reader.TryReadTo(out line, Crlf, advancePastDelimiter: true))
        {
            if (line.Length > MaxLineLength)
            {
                throw new RedisProtocolException($"RESP line longer than {MaxLineLength} bytes.");
            }

            return true;
        }

        if (reader.Remaining > MaxLineLength)
        {
            throw new RedisProtocolException($"No line end within {MaxLineLength} bytes.");
        }

        return false;
    }

    private static void ExpectCrlf(ref SequenceReader<byte> reader)
    {
        if (!reader.IsNext(Crlf, advancePast: true))
        {
            throw new RedisProtocolException("Bulk string not terminated by CRLF.");
        }
    }

    private static long ParseInteger(ReadOnlySpan<byte> line) =>
        Utf8Parser.TryParse(line, out long value, out var consumed) && consumed == line.Length
            ? value
            : throw new RedisProtocolException($"Invalid RESP integer '{Encoding.ASCII.GetString(line)}'.");

    /// <summary>A bulk or array length: -1 (null) or 0..max.</summary>
    private static int ParseLength(ReadOnlySpan<byte> line, int max)
    {
        var value = ParseInteger(line);
        return value >= -1 && value <= max
            ? (int)value
            : throw new RedisProtocolException($"Invalid RESP length {value}.");
    }

    private static string DecodeSimple(ReadOnlySpan<byte> line) => line switch
    {
        [(byte)'O', (byte)'K'] => "OK",
        [(byte)'P', (byte)'O', (byte)'N', (byte)'G'] => "PONG",
        [(byte)'Q', (byte)'U', (byte)'E', (byte)'U', (byte)'E', (byte)'D'] => "QUEUED",
        _ => Encoding.UTF8.GetString(line),
    };
}
