using SmartHub.FakeProviders;
using SmartHub.McpServer.Providers;
using static SmartHub.UnitTests.Providers.ProviderTestKit;

namespace SmartHub.UnitTests.Providers;

/// <summary>How OpenAiProvider fails: upstream statuses, connections, garbage, cut streams, cancellation.</summary>
public sealed class OpenAiProviderErrorTests : IAsyncLifetime
{
    private const string Key = FakeOpenAiServer.DefaultApiKey;
    private static readonly DateTimeOffset s_now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly HttpClient _http = Client();
    private FakeOpenAiServer _server = null!;
    private OpenAiProvider _provider = null!;
    private ChatDeployment _deployment = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeOpenAiServer.StartAsync().WaitAsync(TestTimeout);
        _provider = new OpenAiProvider(_http, new FixedClock(s_now));
        _deployment = Deployment("openai", _server.BaseUrl, Key, provider: "openai-main");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private Task<ProviderException> CompleteFailsAsync(ChatDeployment? deployment = null) =>
        Assert.ThrowsAsync<ProviderException>(() => _provider.CompleteAsync(Ask(deployment ?? _deployment, "Hi"), default).WaitAsync(TestTimeout));

    [Fact]
    public async Task Rate_limit_429_with_Retry_After_is_transient_and_says_how_long_to_wait()
    {
        _server.FailNext(1, 429, retryAfter: TimeSpan.FromSeconds(7));

        var error = await CompleteFailsAsync();

        Assert.Equal("openai-main", error.Provider);
        Assert.Equal(429, error.StatusCode);
        Assert.True(error.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(7), error.RetryAfter);
        Assert.Equal("openai-main answered 429: Rate limit reached for requests. Please try again later.", error.Message);

        // The failure was only the next one.
        Assert.NotNull((await _provider.CompleteAsync(Ask(_deployment, "Hi"), default).WaitAsync(TestTimeout)).Content);
    }

    [Fact]
    public async Task Retry_after_ms_wins_over_Retry_After_and_an_HTTP_date_is_read_against_the_clock()
    {
        _server.FailNext(1, new FakeFailure(429) { RetryAfter = TimeSpan.FromSeconds(2), RetryAfterMs = TimeSpan.FromMilliseconds(1500) });
        _server.FailNext(1, new FakeFailure(503) { RetryAfterDate = s_now.AddSeconds(30) });
        _server.FailNext(1, new FakeFailure(503) { RetryAfterDate = s_now.AddSeconds(-30) });

        Assert.Equal(TimeSpan.FromMilliseconds(1500), (await CompleteFailsAsync()).RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(30), (await CompleteFailsAsync()).RetryAfter);
        Assert.Equal(TimeSpan.Zero, (await CompleteFailsAsync()).RetryAfter);
    }

    [Theory]
    [InlineData(408, true)]
    [InlineData(409, true)]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(400, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(422, false)]
    public async Task Upstream_statuses_are_transient_only_when_another_attempt_may_succeed(int status, bool transient)
    {
        _server.FailNext(1, status);

        var error = await CompleteFailsAsync();

        Assert.Equal(status, error.StatusCode);
        Assert.Equal(transient, error.IsTransient);
        Assert.Null(error.RetryAfter);
    }

    [Fact]
    public async Task Bad_request_400_is_not_transient_and_carries_the_upstream_message()
    {
        _server.FailNext(1, 400, message: "Invalid value for 'temperature': must be at most 2.");

        var error = await CompleteFailsAsync();

        Assert.False(error.IsTransient);
        Assert.Equal("openai-main answered 400: Invalid value for 'temperature': must be at most 2.", error.Message);
    }

    [Fact]
    public async Task A_wrong_key_is_401_and_the_key_appears_nowhere_in_the_exception()
    {
        const string wrongKey = "sk-wrong-0123456789abcdef";

        var error = await CompleteFailsAsync(Deployment("openai", _server.BaseUrl, wrongKey, provider: "openai-main"));

        Assert.Equal(401, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.StartsWith("openai-main answered 401: Incorrect API key provided: sk-", error.Message);
        AssertNoSecret(error, wrongKey);
        Assert.Equal($"Bearer {wrongKey}", _server.LastRequest!.Header("Authorization"));
    }

    [Fact]
    public async Task An_upstream_that_echoes_the_key_has_it_masked_and_long_messages_are_cut()
    {
        _server.FailNext(1, 400, message: $"The key {Key} is not valid here. " + new string('x', 1000));

        var error = await CompleteFailsAsync();

        AssertNoSecret(error, Key);
        Assert.StartsWith("openai-main answered 400: The key [redacted] is not valid here. xxx", error.Message);
        Assert.Equal("openai-main answered 400: ".Length + ProviderHttp.MaxMessageLength, error.Message.Length);
        Assert.EndsWith("…", error.Message);
    }

    [Fact]
    public async Task Other_error_shapes_give_their_message_too()
    {
        _server.RespondNext(404, """{"error":"model 'llama9' not found"}""");
        _server.RespondNext(422, """{"detail":"messages: field required"}""");
        _server.RespondNext(502, "<html><body>Bad gateway</body></html>", "text/html");
        _server.RespondNext(500, "upstream exploded", "text/plain");

        Assert.Equal("openai-main answered 404: model 'llama9' not found", (await CompleteFailsAsync()).Message);
        Assert.Equal("openai-main answered 422: messages: field required", (await CompleteFailsAsync()).Message);
        Assert.Equal("openai-main answered 502: Bad Gateway", (await CompleteFailsAsync()).Message);
        Assert.Equal("openai-main answered 500: upstream exploded", (await CompleteFailsAsync()).Message);
    }

    [Fact]
    public async Task Connection_refused_is_transient_without_a_status()
    {
        var deployment = Deployment("openai", $"http://127.0.0.1:{ClosedPort()}/v1", Key, provider: "openai-main");

        var error = await CompleteFailsAsync(deployment);
        var streamError = await Assert.ThrowsAsync<ProviderException>(() => CollectAsync(_provider.StreamAsync(Ask(deployment, "Hi"), default)).WaitAsync(TestTimeout));

        foreach (var failure in new[] { error, streamError })
        {
            Assert.True(failure.IsTransient);
            Assert.Null(failure.StatusCode);
            Assert.StartsWith("openai-main could not be reached: ", failure.Message);
            AssertNoSecret(failure, Key);
        }
    }

    [Fact]
    public async Task A_body_that_is_not_a_completion_is_a_non_transient_failure_without_a_status()
    {
        _server.RespondNext(200, "<html>Welcome to nginx!</html>", "text/html");
        _server.RespondNext(200, """{"object":"list","data":[]}""");

        var notJson = await CompleteFailsAsync();
        var noChoices = await CompleteFailsAsync();

        Assert.Equal("openai-main answered with a body that is not JSON.", notJson.Message);
        Assert.Equal("openai-main answered with a chat completion without choices[0].message.", noChoices.Message);
        Assert.All([notJson, noChoices], e =>
        {
            Assert.False(e.IsTransient);
            Assert.Null(e.StatusCode);
        });
    }

    [Fact]
    public async Task A_garbled_stream_is_a_non_transient_failure()
    {
        _server.RespondNext(200, "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: {not json\n\n", "text/event-stream");

        var (deltas, error) = await CollectUntilErrorAsync(_provider.StreamAsync(Ask(_deployment, "Hi"), default)).WaitAsync(TestTimeout);

        Assert.Equal("Hi", Assert.Single(deltas).Content);
        var failure = Assert.IsType<ProviderException>(error);
        Assert.False(failure.IsTransient);
        Assert.Equal("openai-main answered with a stream chunk that is not JSON.", failure.Message);
    }

    [Fact]
    public async Task A_stream_that_ends_without_a_finish_reason_is_a_transient_failure()
    {
        _server.RespondNext(200, "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n", "text/event-stream");

        var (_, error) = await CollectUntilErrorAsync(_provider.StreamAsync(Ask(_deployment, "Hi"), default)).WaitAsync(TestTimeout);

        var failure = Assert.IsType<ProviderException>(error);
        Assert.True(failure.IsTransient);
        Assert.Equal("openai-main ended the stream before the answer was finished.", failure.Message);
    }

    [Fact]
    public async Task A_stream_cut_halfway_fails_after_the_deltas_already_read()
    {
        _server.AbortStreamAfterChunks = 2;

        var (deltas, error) = await CollectUntilErrorAsync(_provider.StreamAsync(Ask(_deployment, "Tell me a long story"), default)).WaitAsync(TestTimeout);

        Assert.Equal("Fake openai", string.Concat(deltas.Select(d => d.Content)));
        var failure = Assert.IsType<ProviderException>(error);
        Assert.True(failure.IsTransient);
        Assert.Null(failure.StatusCode);
        Assert.StartsWith("openai-main could not be reached: ", failure.Message);
    }

    [Fact]
    public async Task An_error_chunk_inside_a_stream_ends_it_with_the_upstream_message()
    {
        _server.StreamErrorAfterChunks = 1;

        var (deltas, error) = await CollectUntilErrorAsync(_provider.StreamAsync(Ask(_deployment, "Hi"), default)).WaitAsync(TestTimeout);

        Assert.Equal("Fake", Assert.Single(deltas).Content);
        var failure = Assert.IsType<ProviderException>(error);
        Assert.True(failure.IsTransient);
        Assert.Equal("openai-main reported an error: The server had an error while processing your request. Sorry about that!", failure.Message);
    }

    [Fact]
    public async Task Cancelling_a_stream_midway_closes_the_upstream_request()
    {
        _server.ChunkDelay = TimeSpan.FromMilliseconds(200);
        using var cancellation = new CancellationTokenSource();
        var received = new List<ChatDelta>();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var delta in _provider.StreamAsync(Ask(_deployment, "one two three four five six seven"), cancellation.Token))
            {
                received.Add(delta);
                await cancellation.CancelAsync();
            }
        }).WaitAsync(TestTimeout);

        var aborted = await _server.WaitForAbortAsync(TimeSpan.FromSeconds(2));
        Assert.Single(received);
        Assert.True(aborted.Aborted);
        Assert.False(aborted.Completed);
        Assert.True(aborted.ChunksSent < 5, $"the server went on sending ({aborted.ChunksSent} chunks)");
    }

    [Fact]
    public async Task A_caller_that_stops_reading_a_stream_closes_the_upstream_request()
    {
        _server.ChunkDelay = TimeSpan.FromMilliseconds(200);

        await foreach (var delta in _provider.StreamAsync(Ask(_deployment, "one two three four five six seven"), default))
        {
            break;
        }

        var aborted = await _server.WaitForAbortAsync(TimeSpan.FromSeconds(2));
        Assert.False(aborted.Completed);
    }

    [Fact]
    public async Task Cancelling_while_waiting_for_the_answer_closes_the_upstream_request()
    {
        _server.ResponseDelay = TimeSpan.FromSeconds(30);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _provider.CompleteAsync(Ask(_deployment, "Hi"), cancellation.Token).WaitAsync(TestTimeout));

        var aborted = await _server.WaitForAbortAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(1, _server.AbortedCount);
        Assert.False(aborted.Completed);
    }
}
