using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace SmartHub.ServiceDefaults.Redis;

/// <summary>Encodes commands as RESP2 arrays of bulk strings, straight into an <see cref="IBufferWriter{T}"/>.</summary>
internal static class RespWriter
{
    /// <summary>Checks the command and its arguments; call before <see cref="WriteCommand"/> so a bad argument never leaves half a command in the buffer.</summary>
    public static void Validate(string command, ReadOnlySpan<RedisArg> args)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        for (var i = 0; i < args.Length; i++)
        {
            args[i].Validate(i);
        }
    }

    /// <summary>Writes <c>*N\r\n$len\r\nCOMMAND\r\n$len\r\narg\r\n...</c>. Arguments must have been validated.</summary>
    public static void WriteCommand(IBufferWriter<byte> writer, string command, ReadOnlySpan<RedisArg> args)
    {
        WriteHeader(writer, (byte)'*', 1 + args.Length);
        WriteBulkString(writer, command);
        foreach (var arg in args)
        {
            arg.WriteTo(writer);
        }
    }

    public static void WriteBulkString(IBufferWriter<byte> writer, string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        WriteHeader(writer, (byte)'$', length);
        if (length <= 512)
        {
            var span = writer.GetSpan(length + 2);
            var written = Encoding.UTF8.GetBytes(text, span);
            span[written] = (byte)'\r';
            span[written + 1] = (byte)'\n';
            writer.Advance(written + 2);
        }
        else
        {
            Encoding.UTF8.GetBytes(text.AsSpan(), writer); // chunked for big values
            WriteCrlf(writer);
        }
    }

    public static void WriteBulkBytes(IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes)
    {
        WriteHeader(writer, (byte)'$', bytes.Length);
        writer.Write(bytes);
        WriteCrlf(writer);
    }

    private static void WriteHeader(IBufferWriter<byte> writer, byte prefix, int value)
    {
        var span = writer.GetSpan(16);
        span[0] = prefix;
        Utf8Formatter.TryFormat(value, span[1..], out var written);
        span[written + 1] = (byte)'\r';
        span[written + 2] = (byte)'\n';
        writer.Advance(written + 3);
    }

    private static void WriteCrlf(IBufferWriter<byte> writer)
    {
        var span = writer.GetSpan(2);
        span[0] = (byte)'\r';
        span[1] = (byte)'\n';
        writer.Advance(2);
    }
}
