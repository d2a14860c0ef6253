using System.Buffers;
using System.IO.Pipelines;

namespace SmartHub.McpServer.Providers;

/// <summary>
/// Reads a server-sent event stream (text/event-stream) as bytes, one event at a time: <see cref="Data"/> is the
/// event's <c>data:</c> lines joined with "\n" (both OpenAI and Anthropic send one JSON object per event, which is then
/// parsed from these bytes without a string in between). Comments (<c>: ...</c>) and other fields (<c>event:</c>,
/// <c>id:</c>, <c>retry:</c>) are skipped: both protocols repeat the event's name inside its JSON. Every read takes the
/// caller's token, so a cancellation interrupts a read in flight (which closes the HTTP/1.1 connection).
/// </summary>
internal sealed class SseReader(Stream stream) : IAsyncDisposable
{
    /// <summary>An event larger than this is not a chat chunk: the stream is malformed.</summary>
    public const int MaxEventBytes = 8 * 1024 * 1024;

    private static ReadOnlySpan<byte> DataField => "data"u8;

    private readonly PipeReader _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, leaveOpen: true));
    private readonly ArrayBufferWriter<byte> _data = new(4096);
    private bool _completed;

    /// <summary>The current event's data.</summary>
    public ReadOnlyMemory<byte> Data => _data.WrittenMemory;

    /// <summary>Moves to the next event with data; false at the end of the stream.</summary>
    public async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        _data.ResetWrittenCount();
        var hasData = false;
        while (!_completed)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            while (TryReadLine(ref buffer, out var line))
            {
                if (line.IsEmpty)
                {
                    if (hasData)
                    {
                        _reader.AdvanceTo(buffer.Start);
                        return true;
                    }

                    continue;
                }

                hasData |= Process(line);
            }

            if (result.IsCompleted)
            {
                // A last line without its line break still counts, and so does a last event without its blank line.
                if (!buffer.IsEmpty)
                {
                    hasData |= Process(buffer);
                }

                _reader.AdvanceTo(buffer.End);
                _completed = true;
                return hasData;
            }

            if (buffer.Length > MaxEventBytes || _data.WrittenCount > MaxEventBytes)
            {
                throw new InvalidDataException($"An event of the stream is larger than {MaxEventBytes / (1024 * 1024)} MiB.");
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }

        return false;
    }

    public ValueTask DisposeAsync() => _reader.CompleteAsync();

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        if (buffer.PositionOf((byte)'\n') is not { } end)
        {
            line = default;
            return false;
        }

        line = buffer.Slice(0, end);
        buffer = buffer.Slice(buffer.GetPosition(1, end));
        if (!line.IsEmpty && line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r')
        {
            line = line.Slice(0, line.Length - 1);
        }

        return true;
    }

    /// <summary>Takes one non-empty line; true when it was a data line.</summary>
    private bool Process(ReadOnlySequence<byte> line)
    {
        var span = line.IsSingleSegment ? line.FirstSpan : line.ToArray();
        if (span.Length > 0 && span[^1] == (byte)'\r')
        {
            span = span[..^1];
        }

        if (span.IsEmpty || span[0] == (byte)':')
        {
            return false;
        }

        var colon = span.IndexOf((byte)':');
        var name = colon < 0 ? span : span[..colon];
        if (!name.SequenceEqual(DataField))
        {
            return false;
        }

        var value = colon < 0 ? [] : span[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }

        if (_data.WrittenCount > 0)
        {
            _data.Write("\n"u8);
        }

        _data.Write(value);
        return true;
    }
}
