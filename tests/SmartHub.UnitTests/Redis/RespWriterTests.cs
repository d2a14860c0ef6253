using System.Buffers;
using System.Text;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.UnitTests.Redis;

public sealed class RespWriterTests
{
    [Fact]
    public void Writes_a_command_as_an_array_of_bulk_strings()
    {
        Assert.Equal("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", Encode("SET", ["key", "value"]));
    }

    [Fact]
    public void Encodes_text_as_utf8_and_counts_bytes_not_chars()
    {
        Assert.Equal("*2\r\n$4\r\nECHO\r\n$6\r\nhéllo\r\n", Encode("ECHO", ["héllo"]));
    }

    [Fact]
    public void Encodes_numbers_booleans_and_empty_strings()
    {
        RedisArg[] args = [-12345L, 1.5, double.PositiveInfinity, true, ""];

        var text = Encode("X", args);

        Assert.Equal("*6\r\n$1\r\nX\r\n$6\r\n-12345\r\n$3\r\n1.5\r\n$4\r\n+inf\r\n$1\r\n1\r\n$0\r\n\r\n", text);
    }

    [Fact]
    public void Writes_raw_bytes_unchanged()
    {
        var writer = new ArrayBufferWriter<byte>();

        RespWriter.WriteCommand(writer, "SET", ["k", new byte[] { 0, 255, 13, 10 }]);

        byte[] expected = [.. "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n"u8, 0, 255, 13, 10, .. "\r\n"u8];
        Assert.Equal(expected, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Encodes_a_big_string_in_chunks()
    {
        var big = new string('é', 100_000);

        var text = Encode("SET", ["k", big]);

        Assert.StartsWith("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$200000\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith(big + "\r\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_and_NaN_arguments_are_rejected_before_writing()
    {
        string? missing = null;

        Assert.Throws<ArgumentException>(() => RespWriter.Validate("GET", [missing]));
        Assert.Throws<ArgumentException>(() => RespWriter.Validate("SET", ["k", double.NaN]));
        Assert.Throws<ArgumentException>(() => RespWriter.Validate("", []));
        RespWriter.Validate("SET", ["k", 1]);
    }

    private static string Encode(string command, ReadOnlySpan<RedisArg> args)
    {
        var writer = new ArrayBufferWriter<byte>();
        RespWriter.Validate(command, args);
        RespWriter.WriteCommand(writer, command, args);
        return Encoding.UTF8.GetString(writer.WrittenSpan);
    }
}
