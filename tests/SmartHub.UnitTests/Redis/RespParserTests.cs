using System.Buffers;
using System.Text;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.UnitTests.Redis;

public sealed class RespParserTests
{
    [Fact]
    public void Parses_every_RESP2_type()
    {
        Assert.Equal("OK", ParseOne("+OK\r\n").AsString());
        Assert.Equal(RedisResultType.SimpleString, ParseOne("+OK\r\n").Type);
        Assert.Equal(42, ParseOne(":42\r\n").AsLong());
        Assert.Equal(-7, ParseOne(":-7\r\n").AsLong());
        Assert.Equal("héllo", ParseOne("$6\r\nhéllo\r\n").AsString());
        Assert.Equal("", ParseOne("$0\r\n\r\n").AsString());
        Assert.True(ParseOne("$-1\r\n").IsNull);
        Assert.True(ParseOne("*-1\r\n").IsNull);
        Assert.Empty(ParseOne("*0\r\n").AsArray());
        Assert.Equal(RedisResultType.Array, ParseOne("*0\r\n").Type);
    }

    [Fact]
    public void Error_reply_keeps_the_server_message()
    {
        var result = ParseOne("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");

        Assert.True(result.IsError);
        Assert.Equal("WRONGTYPE Operation against a key holding the wrong kind of value", result.ErrorMessage);
        var ex = Assert.Throws<RedisServerException>(() => result.AsString());
        Assert.Equal("WRONGTYPE", ex.ErrorCode);
    }

    [Fact]
    public void Parses_nested_arrays_with_nulls_and_errors()
    {
        // An XREADGROUP-like shape: [[stream, [[id, [f, v]], [id2, nil]]], nil, -ERR, :1]
        var text = "*4\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$3\r\n2-0\r\n*-1\r\n$-1\r\n-ERR inner\r\n:1\r\n";

        var result = ParseOne(text);

        var items = result.AsArray();
        Assert.Equal(4, items.Count);
        var stream = items[0].AsArray();
        Assert.Equal("s", stream[0].AsString());
        var entries = stream[1].AsArray();
        Assert.Equal("1-0", entries[0].AsArray()[0].AsString());
        Assert.Equal(["f", "v"], entries[0].AsArray()[1].AsArray().Select(x => x.AsString()));
        Assert.True(entries[1].AsArray()[1].IsNull);
        Assert.True(items[1].IsNull);
        Assert.Equal("ERR inner", items[2].ErrorMessage);
        Assert.Equal(1, items[3].AsLong());
    }

    [Theory]
    [InlineData("+OK\r\n")]
    [InlineData(":12345\r\n")]
    [InlineData("$5\r\nhello\r\n")]
    [InlineData("*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n+x\r\n")]
    [InlineData("-ERR something bad\r\n")]
    public void Every_proper_prefix_is_incomplete_and_leaves_the_reader_in_place(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        for (var length = 0; length < bytes.Length; length++)
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes, 0, length));

            Assert.False(RespParser.TryRead(ref reader, out _), $"prefix of {length} bytes");
            Assert.Equal(0, reader.Consumed);
        }

        var full = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        Assert.True(RespParser.TryRead(ref full, out _));
        Assert.Equal(bytes.Length, full.Consumed);
    }

    [Fact]
    public void Parses_a_reply_fragmented_into_one_byte_segments()
    {
        var text = "*3\r\n$5\r\nhello\r\n:-1\r\n*2\r\n+OK\r\n$3\r\nabc\r\n";

        var sequence = Segments(Encoding.UTF8.GetBytes(text).Select(b => new[] { b }).ToArray());
        var reader = new SequenceReader<byte>(sequence);

        Assert.True(RespParser.TryRead(ref reader, out var result));
        Assert.Equal("hello", result.AsArray()[0].AsString());
        Assert.Equal(-1, result.AsArray()[1].AsLong());
        Assert.Equal("abc", result.AsArray()[2].AsArray()[1].AsString());
        Assert.True(reader.End);
    }

    [Fact]
    public void Parses_a_big_bulk_string_split_across_segments()
    {
        var payload = new byte[3 * 1024 * 1024 + 17];
        new Random(42).NextBytes(payload);
        var header = Encoding.ASCII.GetBytes($"${payload.Length}\r\n");
        var all = header.Concat(payload).Concat("\r\n"u8.ToArray()).ToArray();
        var chunks = all.Chunk(64 * 1024).ToArray();

        // Feed it the way the pipe does: growing prefixes until complete.
        var available = 0;
        RedisResult result = default;
        for (var i = 0; i < chunks.Length; i++)
        {
            available += chunks[i].Length;
            var reader = new SequenceReader<byte>(Segments(chunks[..(i + 1)]));
            var complete = RespParser.TryRead(ref reader, out result);
            Assert.Equal(i == chunks.Length - 1, complete);
        }

        Assert.Equal(all.Length, available);
        Assert.Equal(payload, result.AsBytes());
    }

    [Fact]
    public void Reads_several_pipelined_replies_from_one_buffer()
    {
        var bytes = Encoding.UTF8.GetBytes(":1\r\n:2\r\n+PONG\r\n$3\r\nfoo\r\n:5");
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        var results = new List<RedisResult>();

        while (RespParser.TryRead(ref reader, out var result))
        {
            results.Add(result);
        }

        Assert.Equal(["1", "2", "PONG", "foo"], results.Select(r => r.AsString()));
        Assert.Equal(2, reader.Remaining); // ":5" waits for its CRLF
    }

    [Fact]
    public void Large_array_of_many_small_items()
    {
        var text = new StringBuilder("*10000\r\n");
        for (var i = 0; i < 10000; i++)
        {
            text.Append(':').Append(i).Append("\r\n");
        }

        var result = ParseOne(text.ToString());

        Assert.Equal(10000, result.AsArray().Count);
        Assert.Equal(9999, result.AsArray()[9999].AsLong());
    }

    [Theory]
    [InlineData("!unknown\r\n")]
    [InlineData(":12a\r\n")]
    [InlineData("$-2\r\n")]
    [InlineData("$3\r\nabcXY")]
    [InlineData("*-5\r\n")]
    public void Invalid_input_is_a_protocol_error(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);

        Assert.Throws<RedisProtocolException>(() =>
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
            RespParser.TryRead(ref reader, out _);
        });
    }

    [Fact]
    public void Nesting_beyond_the_limit_is_a_protocol_error()
    {
        var text = string.Concat(Enumerable.Repeat("*1\r\n", RespParser.MaxDepth + 2)) + ":1\r\n";

        Assert.Throws<RedisProtocolException>(() => ParseOne(text));
    }

    [Fact]
    public void A_line_without_end_beyond_the_limit_is_a_protocol_error()
    {
        var bytes = Encoding.ASCII.GetBytes("+" + new string('x', RespParser.MaxLineLength + 10));

        Assert.Throws<RedisProtocolException>(() =>
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
            RespParser.TryRead(ref reader, out _);
        });
    }

    private static RedisResult ParseOne(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        Assert.True(RespParser.TryRead(ref reader, out var result));
        Assert.True(reader.End);
        return result;
    }

    internal static ReadOnlySequence<byte> Segments(byte[][] parts)
    {
        var first = new Segment(parts[0], 0);
        var last = first;
        for (var i = 1; i < parts.Length; i++)
        {
            last = last.Append(parts[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
