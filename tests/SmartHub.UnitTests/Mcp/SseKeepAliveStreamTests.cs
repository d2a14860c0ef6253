using System.Text;
using SmartHub.McpServer.Mcp;

namespace SmartHub.UnitTests.Mcp;

/// <summary>Keep-alive comments on silent SSE responses, on the real clock with short intervals.</summary>
public sealed class SseKeepAliveStreamTests
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(40);

    private static string Text(MemoryStream stream) => Encoding.UTF8.GetString(stream.ToArray());

    [Fact]
    public async Task A_silent_stream_gets_comment_lines()
    {
        var inner = new MemoryStream();
        await using var stream = new SseKeepAliveStream(inner, s_interval, TimeProvider.System);

        await WaitUntilAsync(() => stream.KeepAlivesSent >= 2);

        Assert.StartsWith(": keep-alive\n: keep-alive\n", Text(inner), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_comment_never_splits_a_line()
    {
        var inner = new MemoryStream();
        await using var stream = new SseKeepAliveStream(inner, s_interval, TimeProvider.System);

        await stream.WriteAsync("event: message\ndata: {\"a\":"u8.ToArray());
        await Task.Delay(s_interval * 5);
        Assert.Equal(0, stream.KeepAlivesSent);
        await stream.WriteAsync("1}\n\n"u8.ToArray());
        await WaitUntilAsync(() => stream.KeepAlivesSent >= 1);

        Assert.StartsWith("event: message\ndata: {\"a\":1}\n\n: keep-alive\n", Text(inner), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nothing_is_written_when_off_or_after_disposal()
    {
        var off = new MemoryStream();
        await using (new SseKeepAliveStream(off, TimeSpan.Zero, TimeProvider.System))
        {
            await Task.Delay(s_interval * 3);
        }

        var disposed = new MemoryStream();
        await new SseKeepAliveStream(disposed, s_interval, TimeProvider.System).DisposeAsync();
        await Task.Delay(s_interval * 3);

        Assert.Equal(0, off.Length);
        Assert.Equal(0, disposed.Length);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }
}
