using SmartHub.FakeProviders;
using SmartHub.McpServer.Providers;
using static SmartHub.UnitTests.Providers.ProviderTestKit;

namespace SmartHub.UnitTests.Providers;

/// <summary>How AnthropicProvider fails: Anthropic's error shape and statuses (529), error events, cancellation.</summary>
public sealed class AnthropicProviderErrorTests : IAsyncLifetime
{
    private const string Key = FakeAnthropicServer.DefaultApiKey;

    private readonly HttpClient _http = Client();
    private FakeAnthropicServer _server = null!;
    private AnthropicProvider _provider = null!;
    private ChatDeployment _deployment = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeAnthropicServer.StartAsync().WaitAsync(TestTimeout);
        _provider = new AnthropicProvider(_http, TimeProvider.System);
        _deployment = Deployment("anthropic", _server.BaseUrl, Key, provider: "anthropic-main");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private Task<ProviderException> CompleteFailsAsync(ChatDeployment? deployment = null) =>
        Assert.ThrowsAsync<ProviderException>(() => _provider.CompleteAsync(Ask(deployment ?? _deployment, "Hi"), default).WaitAsync(TestTimeout));

    [Fact]
    public async Task Overloaded_529_is_transient()
    {
        _server.FailNext(1, 529);

        var error = await CompleteFailsAsync();

        Assert.Equal(529, error.StatusCode);
        Assert.True(error.IsTransient);
        Assert.Equal("anthropic-main answered 529: Overloaded", error.Message);
    }

    [Fact]
    public async Task Rate_limit_429_with_Retry_After_is_transient_and_says_how_long_to_wait()
    {
        _server.FailNext(1, 429, retryAfter: TimeSpan.FromSeconds(12));

        var error = await Assert.ThrowsAsync<ProviderException>(() => CollectAsync(_provider.StreamAsync(Ask(_deployment, "Hi"), default)).WaitAsync(TestTimeout));

        Assert.Equal(429, error.StatusCode);
        Assert.True(error.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(12), error.RetryAfter);
        Assert.Equal("anthropic-main answered 429: Number of request tokens has exceeded your per-minute rate limit.", error.Message);
    }

    [Fact]
    public async Task Bad_request_400_is_not_transient_and_carries_the_upstream_message()
    {
        _server.FailNext(1, 400, message: "messages.0.content: Input should be a valid list");

        var error = await CompleteFailsAsync();

        Assert.Equal(400, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Equal("anthropic-main answered 400: messages.0.content: Input should be a valid list", error.Message);
    }

    [Fact]
    public async Task A_wrong_key_is_401_and_the_key_appears_nowhere_in_the_exception()
    {
        const string wrongKey = "sk-ant-wrong-0123456789abcdef";

        var error = await CompleteFailsAsync(Deployment("anthropic", _server.BaseUrl, wrongKey, provider: "anthropic-main"));

        Assert.Equal(401, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Equal("anthropic-main answered 401: invalid x-api-key", error.Message);
        AssertNoSecret(error, wrongKey);
    }

    [Fact]
    public async Task Connection_refused_is_transient_without_a_status_and_without_the_key()
    {
        var error = await CompleteFailsAsync(Deployment("anthropic", $"http://127.0.0.1:{ClosedPort()}/v1", Key, provider: "anthropic-main"));

        Assert.True(error.IsTransient);
        Assert.Null(error.StatusCode);
        Assert.StartsWith("anthropic-main could not be reached: ", error.Message);
        AssertNoSecret(error, Key);
    }

    [Fact]
    public async Task An_error_event_inside_a_stream_ends_it_with_a_provider_exception()
    {
        _server.StreamErrorAfterChunks = 2;

        var (deltas, error) = await CollectUntilErrorAsync(_provider.StreamAsync(Ask(_deployment, "Tell me more"), default)).WaitAsync(TestTimeout);

        Assert.Equal("Fake anthropic", string.Concat(deltas.Select(d => d.Content)));
        var failure = Assert.IsType<ProviderException>(error);
        Assert.True(failure.IsTransient);
        Assert.Null(failure.StatusCode);
        Assert.Equal("anthropic-main reported an error: Overloaded (overloaded_error)", failure.Message);
    }

    [Fact]
    public async Task A_stream_cut_before_message_delta_is_a_transient_failure()
    {
        _server.AbortStreamAfterChunks = 1;

        var (deltas, error) = await CollectUntilErrorAsync(_provider.StreamAsync(Ask(_deployment, "Tell me more"), default)).WaitAsync(TestTimeout);

        Assert.Equal("Fake", Assert.Single(deltas).Content);
        var failure = Assert.IsType<ProviderException>(error);
        Assert.True(failure.IsTransient);
        Assert.Null(failure.StatusCode);
    }

    [Fact]
    public async Task An_error_body_with_status_200_or_garbage_is_not_transient()
    {
        _server.RespondNext(200, """{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long"}}""");
        _server.RespondNext(200, "{\"id\":\"msg_1\",\"type\":\"message\",\"content\":[{\"type\":\"text\",\"te");

        var reported = await CompleteFailsAsync();
        var garbage = await CompleteFailsAsync();

        Assert.Equal("anthropic-main reported an error: prompt is too long (invalid_request_error)", reported.Message);
        Assert.False(reported.IsTransient);
        Assert.Equal("anthropic-main answered with a body that is not JSON.", garbage.Message);
        Assert.False(garbage.IsTransient);
        Assert.Null(garbage.StatusCode);
    }

    [Fact]
    public async Task Cancelling_a_stream_midway_closes_the_upstream_request()
    {
        _server.ChunkDelay = TimeSpan.FromMilliseconds(200);
        using var cancellation = new CancellationTokenSource();
        var received = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var delta in _provider.StreamAsync(Ask(_deployment, "one two three four five six seven"), cancellation.Token))
            {
                received++;
                await cancellation.CancelAsync();
            }
        }).WaitAsync(TestTimeout);

        var aborted = await _server.WaitForAbortAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(1, received);
        Assert.False(aborted.Completed);
        Assert.True(aborted.ChunksSent < 5, $"the server went on sending ({aborted.ChunksSent} chunks)");
    }
}
