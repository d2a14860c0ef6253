using System.Text.Json;
using SmartHub.FakeProviders;
using SmartHub.McpServer.Providers;
using static SmartHub.UnitTests.Providers.ProviderTestKit;

namespace SmartHub.UnitTests.Providers;

/// <summary>OpenAiProvider against <see cref="FakeOpenAiServer"/> over real HTTP.</summary>
public sealed class OpenAiProviderTests : IAsyncLifetime
{
    private const string Key = FakeOpenAiServer.DefaultApiKey;

    private readonly HttpClient _http = Client();
    private FakeOpenAiServer _server = null!;
    private OpenAiProvider _provider = null!;
    private ChatDeployment _deployment = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeOpenAiServer.StartAsync().WaitAsync(TestTimeout);
        _provider = new OpenAiProvider(_http, TimeProvider.System);
        _deployment = Deployment("openai", _server.BaseUrl, Key, provider: "openai-main", model: "gpt-fake");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Completion_returns_the_answer_its_finish_reason_and_the_upstream_usage()
    {
        var completion = await _provider.CompleteAsync(Ask(_deployment, "What is SmartHub?"), default).WaitAsync(TestTimeout);

        Assert.Equal("Fake openai answer: What is SmartHub?", completion.Content);
        Assert.Equal(FinishReasons.Stop, completion.FinishReason);
        Assert.Null(completion.ToolCalls);
        var usage = Assert.NotNull(completion.Usage);
        Assert.Equal(6, usage.CompletionTokens);
        Assert.True(usage.PromptTokens > 5);

        var request = Assert.Single(_server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal($"Bearer {Key}", request.Header("Authorization"));
        Assert.Equal("gpt-fake", request.Body.GetProperty("model").GetString());
        Assert.False(request.Body.TryGetProperty("stream", out _));
    }

    [Fact]
    public async Task The_body_carries_every_parameter_set_and_leaves_out_the_others()
    {
        var call = Call(_deployment,
            [
                new ChatMessage(ChatMessage.System, "Be brief."),
                new ChatMessage(ChatMessage.User, "Hello", Name: "ada"),
            ],
            maxTokens: 77,
            with: r => r with
            {
                Temperature = 0.5,
                TopP = 0.9,
                Stop = ["END"],
                Seed = 42,
                PresencePenalty = 0.1,
                FrequencyPenalty = 0.2,
                ResponseFormat = Json("""{"type":"json_object"}"""),
                User = "user-7",
            });

        await _provider.CompleteAsync(call, default).WaitAsync(TestTimeout);

        var body = _server.LastRequest!.Body;
        Assert.Equal(77, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.5, body.GetProperty("temperature").GetDouble());
        Assert.Equal(0.9, body.GetProperty("top_p").GetDouble());
        Assert.Equal("END", body.GetProperty("stop")[0].GetString());
        Assert.Equal(42, body.GetProperty("seed").GetInt64());
        Assert.Equal(0.1, body.GetProperty("presence_penalty").GetDouble());
        Assert.Equal(0.2, body.GetProperty("frequency_penalty").GetDouble());
        Assert.Equal("json_object", body.GetProperty("response_format").GetProperty("type").GetString());
        Assert.Equal("user-7", body.GetProperty("user").GetString());
        var messages = body.GetProperty("messages");
        Assert.Equal("""{"role":"system","content":"Be brief."}""", messages[0].GetRawText());
        Assert.Equal("""{"role":"user","content":"Hello","name":"ada"}""", messages[1].GetRawText());

        await _provider.CompleteAsync(Ask(_deployment, "Hi"), default).WaitAsync(TestTimeout);
        var minimal = _server.LastRequest!.Body;
        Assert.Equal(["model", "messages", "max_tokens"], minimal.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Content_parts_are_sent_as_the_client_sent_them()
    {
        var parts = Json("""[{"type":"text","text":"Describe"},{"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"low"}}]""");
        var call = Call(_deployment, [new ChatMessage(ChatMessage.User, "Describe", ContentParts: parts)]);

        var completion = await _provider.CompleteAsync(call, default).WaitAsync(TestTimeout);

        Assert.Equal(parts.GetRawText(), _server.LastRequest!.Body.GetProperty("messages")[0].GetProperty("content").GetRawText());
        Assert.Equal("Fake openai answer: Describe", completion.Content);
    }

    [Fact]
    public async Task Streaming_joins_the_content_and_ends_with_the_finish_reason_and_usage()
    {
        var whole = await _provider.CompleteAsync(Ask(_deployment, "Tell me a story"), default).WaitAsync(TestTimeout);

        var deltas = await CollectAsync(_provider.StreamAsync(Ask(_deployment, "Tell me a story"), default)).WaitAsync(TestTimeout);

        Assert.Equal(whole.Content, string.Concat(deltas.Select(d => d.Content)));
        Assert.True(deltas.Count > 3);
        Assert.All(deltas[..^1], d => Assert.Null(d.FinishReason));
        var last = deltas[^1];
        Assert.Equal(FinishReasons.Stop, last.FinishReason);
        Assert.Equal(whole.Usage, last.Usage);

        var request = _server.LastRequest!;
        Assert.True(request.Stream);
        Assert.True(request.Body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal("text/event-stream", request.Header("Accept"));
        Assert.True(request.Completed);
    }

    [Fact]
    public async Task The_output_limit_cuts_the_answer_with_finish_reason_length()
    {
        var completion = await _provider.CompleteAsync(Ask(_deployment, "one two three four five six", maxTokens: 3), default).WaitAsync(TestTimeout);
        var deltas = await CollectAsync(_provider.StreamAsync(Ask(_deployment, "one two three four five six", maxTokens: 3), default)).WaitAsync(TestTimeout);

        Assert.Equal("Fake openai answer:", completion.Content);
        Assert.Equal(FinishReasons.Length, completion.FinishReason);
        Assert.Equal(FinishReasons.Length, deltas[^1].FinishReason);
        Assert.Equal(3, deltas[^1].Usage!.Value.CompletionTokens);
    }

    private static readonly JsonElement s_weatherTool = Json("""
        [{"type":"function","function":{"name":"get_weather","description":"Weather in a city",
          "parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}}}]
        """);

    [Fact]
    public async Task Tool_calls_come_back_as_openai_tool_calls_and_go_up_again_with_the_tool_result()
    {
        var ask = Ask(_deployment, "Paris", with: r => r with { Tools = s_weatherTool, ToolChoice = Json("\"auto\"") });

        var first = await _provider.CompleteAsync(ask, default).WaitAsync(TestTimeout);

        Assert.Equal(FinishReasons.ToolCalls, first.FinishReason);
        Assert.Null(first.Content);
        var call = Assert.Single(Assert.NotNull(first.ToolCalls).EnumerateArray());
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("""{"city":"Paris","days":1}""", call.GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("auto", _server.LastRequest!.Body.GetProperty("tool_choice").GetString());
        Assert.True(JsonElement.DeepEquals(s_weatherTool, _server.LastRequest.Body.GetProperty("tools")));

        var id = call.GetProperty("id").GetString();
        var followUp = Call(_deployment,
            [
                new ChatMessage(ChatMessage.User, "Paris"),
                new ChatMessage(ChatMessage.Assistant, null, ToolCalls: first.ToolCalls),
                new ChatMessage(ChatMessage.Tool, "18°C and sunny", ToolCallId: id),
            ],
            with: r => r with { Tools = s_weatherTool });
        var second = await _provider.CompleteAsync(followUp, default).WaitAsync(TestTimeout);

        Assert.Equal("Fake openai answer: Paris [tool result: 18°C and sunny]", second.Content);
        var messages = _server.LastRequest!.Body.GetProperty("messages");
        Assert.False(messages[1].TryGetProperty("content", out _));
        Assert.True(JsonElement.DeepEquals(first.ToolCalls!.Value, messages[1].GetProperty("tool_calls")));
        Assert.Equal(id, messages[2].GetProperty("tool_call_id").GetString());
    }

    [Fact]
    public async Task Streamed_tool_calls_arrive_as_indexed_fragments()
    {
        var ask = Ask(_deployment, "Oslo", with: r => r with { Tools = s_weatherTool });

        var deltas = await CollectAsync(_provider.StreamAsync(ask, default)).WaitAsync(TestTimeout);

        var (id, name, arguments) = Assert.Single(JoinToolCalls(deltas));
        Assert.StartsWith("call_", id);
        Assert.Equal("get_weather", name);
        Assert.Equal("""{"city":"Oslo","days":1}""", arguments);
        Assert.Equal(FinishReasons.ToolCalls, deltas[^1].FinishReason);
        Assert.NotNull(deltas[^1].Usage);
    }

    [Fact]
    public async Task Azure_style_key_header_and_query_string_are_used()
    {
        await using var azure = await FakeOpenAiServer.StartAsync(new FakeServerOptions
        {
            ApiKey = "azure-key-0123456789",
            ApiKeyHeader = "api-key",
            PathPrefix = "/openai/deployments/gpt-4o",
        }).WaitAsync(TestTimeout);
        var deployment = Deployment("openai", azure.BaseUrl, "azure-key-0123456789", provider: "azure-east", model: "gpt-4o",
            apiKeyHeader: "api-key", query: "api-version=2024-10-21");

        var completion = await _provider.CompleteAsync(Ask(deployment, "Hi Azure"), default).WaitAsync(TestTimeout);

        Assert.Equal("Fake openai answer: Hi Azure", completion.Content);
        var request = azure.LastRequest!;
        Assert.Equal("/openai/deployments/gpt-4o/chat/completions", request.Path);
        Assert.Equal("?api-version=2024-10-21", request.QueryString);
        Assert.Equal("azure-key-0123456789", request.Header("api-key"));
        Assert.Null(request.Header("Authorization"));
    }

    [Fact]
    public async Task A_deployment_can_send_max_completion_tokens_and_leave_stream_options_out()
    {
        var deployment = new ChatDeployment
        {
            Provider = _deployment.Provider, Type = "openai", Model = _deployment.Model, UpstreamModel = _deployment.UpstreamModel,
            BaseUrl = _deployment.BaseUrl, ApiKey = _deployment.ApiKey, MaxTokensField = "max_completion_tokens", StreamUsage = false,
        };

        var deltas = await CollectAsync(_provider.StreamAsync(Ask(deployment, "Tell me a story about o3", maxTokens: 5), default)).WaitAsync(TestTimeout);

        Assert.Equal(FinishReasons.Length, deltas[^1].FinishReason);
        var body = _server.LastRequest!.Body;
        Assert.Equal(5, body.GetProperty("max_completion_tokens").GetInt32());
        Assert.False(body.TryGetProperty("max_tokens", out _));
        Assert.False(body.TryGetProperty("stream_options", out _));
    }

    [Fact]
    public async Task A_deployment_without_a_key_sends_no_key_header()
    {
        await using var ollama = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Name = "ollama", RequireApiKey = false }).WaitAsync(TestTimeout);

        var completion = await _provider.CompleteAsync(Ask(Deployment("openai", ollama.BaseUrl, key: null), "Hi"), default).WaitAsync(TestTimeout);

        Assert.Equal("Fake ollama answer: Hi", completion.Content);
        Assert.Null(ollama.LastRequest!.Header("Authorization"));
    }

    [Fact]
    public async Task A_server_that_answers_a_stream_with_one_json_completion_gives_one_delta()
    {
        _server.RespondNext(200, """
            {"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Whole answer"},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}
            """);

        var deltas = await CollectAsync(_provider.StreamAsync(Ask(_deployment, "Hi"), default)).WaitAsync(TestTimeout);

        var delta = Assert.Single(deltas);
        Assert.Equal("Whole answer", delta.Content);
        Assert.Equal(FinishReasons.Stop, delta.FinishReason);
        Assert.Equal(new TokenUsage(4, 2), delta.Usage);
    }
}
