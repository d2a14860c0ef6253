using System.Text.Json;
using SmartHub.FakeProviders;
using SmartHub.McpServer.Providers;
using static SmartHub.UnitTests.Providers.ProviderTestKit;

namespace SmartHub.UnitTests.Providers;

/// <summary>AnthropicProvider against <see cref="FakeAnthropicServer"/> over real HTTP: the translation both ways.</summary>
public sealed class AnthropicProviderTests : IAsyncLifetime
{
    private const string Key = FakeAnthropicServer.DefaultApiKey;

    private static readonly JsonElement s_tools = Json("""
        [{"type":"function","function":{"name":"get_weather","description":"Weather in a city",
          "parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}}},
         {"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"zone":{"type":"string"}}}}}]
        """);

    private readonly HttpClient _http = Client();
    private FakeAnthropicServer _server = null!;
    private AnthropicProvider _provider = null!;
    private ChatDeployment _deployment = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeAnthropicServer.StartAsync().WaitAsync(TestTimeout);
        _provider = new AnthropicProvider(_http, TimeProvider.System);
        _deployment = Deployment("anthropic", _server.BaseUrl, Key, provider: "anthropic-main", model: "claude-fake");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Completion_returns_the_text_the_finish_reason_and_the_usage()
    {
        var completion = await _provider.CompleteAsync(Ask(_deployment, "What is SmartHub?", maxTokens: 321), default).WaitAsync(TestTimeout);

        Assert.Equal("Fake anthropic answer: What is SmartHub?", completion.Content);
        Assert.Equal(FinishReasons.Stop, completion.FinishReason);
        Assert.Null(completion.ToolCalls);
        Assert.Equal(6, completion.Usage!.Value.CompletionTokens);

        var request = Assert.Single(_server.Requests);
        Assert.Equal("/v1/messages", request.Path);
        Assert.Equal(Key, request.Header("x-api-key"));
        Assert.Null(request.Header("Authorization"));
        Assert.Equal("2023-06-01", request.Header("anthropic-version"));
        Assert.Equal("claude-fake", request.Body.GetProperty("model").GetString());
        Assert.Equal(321, request.Body.GetProperty("max_tokens").GetInt32());
        Assert.Equal("""[{"role":"user","content":"What is SmartHub?"}]""", request.Body.GetProperty("messages").GetRawText());
    }

    [Fact]
    public async Task System_and_developer_messages_are_hoisted_and_consecutive_turns_merged()
    {
        var call = Call(_deployment,
            [
                new ChatMessage(ChatMessage.System, "Be brief."),
                new ChatMessage(ChatMessage.User, "First question"),
                new ChatMessage(ChatMessage.User, "Second question"),
                new ChatMessage(ChatMessage.Assistant, "An answer"),
                new ChatMessage(ChatMessage.Developer, "Use metric units."),
                new ChatMessage(ChatMessage.User, "Third question"),
            ],
            with: r => r with { Temperature = 1.6, TopP = 0.8, Stop = ["\n\nHuman:"], User = "user-7", Seed = 3, PresencePenalty = 0.5 });

        var completion = await _provider.CompleteAsync(call, default).WaitAsync(TestTimeout);

        Assert.Equal("Fake anthropic answer: Third question", completion.Content);
        var body = _server.LastRequest!.Body;
        Assert.Equal("Be brief.\n\nUse metric units.", body.GetProperty("system").GetString());
        Assert.Equal(
            """[{"role":"user","content":[{"type":"text","text":"First question"},{"type":"text","text":"Second question"}]},""" +
            """{"role":"assistant","content":"An answer"},{"role":"user","content":"Third question"}]""",
            body.GetProperty("messages").GetRawText());
        Assert.Equal(1.0, body.GetProperty("temperature").GetDouble());
        Assert.Equal(0.8, body.GetProperty("top_p").GetDouble());
        Assert.Equal("\n\nHuman:", body.GetProperty("stop_sequences")[0].GetString());
        Assert.Equal("user-7", body.GetProperty("metadata").GetProperty("user_id").GetString());
        Assert.False(body.TryGetProperty("seed", out _));
        Assert.False(body.TryGetProperty("presence_penalty", out _));
        Assert.False(body.TryGetProperty("stop", out _));
    }

    [Fact]
    public async Task A_stop_sequence_cuts_the_answer_and_the_output_limit_gives_length()
    {
        var stopped = await _provider.CompleteAsync(Ask(_deployment, "alpha beta gamma", with: r => r with { Stop = [" beta"] }), default).WaitAsync(TestTimeout);
        var cut = await _provider.CompleteAsync(Ask(_deployment, "alpha beta gamma", maxTokens: 2), default).WaitAsync(TestTimeout);
        var cutStream = await CollectAsync(_provider.StreamAsync(Ask(_deployment, "alpha beta gamma", maxTokens: 2), default)).WaitAsync(TestTimeout);

        Assert.Equal("Fake anthropic answer: alpha", stopped.Content);
        Assert.Equal(FinishReasons.Stop, stopped.FinishReason);
        Assert.Equal("Fake anthropic", cut.Content);
        Assert.Equal(FinishReasons.Length, cut.FinishReason);
        Assert.Equal(FinishReasons.Length, cutStream[^1].FinishReason);
    }

    [Fact]
    public async Task Streaming_events_become_deltas_ending_with_the_finish_reason_and_usage()
    {
        var whole = await _provider.CompleteAsync(Ask(_deployment, "Tell me a story"), default).WaitAsync(TestTimeout);

        var deltas = await CollectAsync(_provider.StreamAsync(Ask(_deployment, "Tell me a story"), default)).WaitAsync(TestTimeout);

        Assert.Equal(whole.Content, string.Concat(deltas.Select(d => d.Content)));
        Assert.All(deltas[..^1], d => Assert.Null(d.FinishReason));
        Assert.Equal(FinishReasons.Stop, deltas[^1].FinishReason);
        Assert.Equal(whole.Usage, deltas[^1].Usage);
        Assert.True(_server.LastRequest!.Body.GetProperty("stream").GetBoolean());
    }

    [Theory]
    [InlineData("\"auto\"", """{"type":"auto"}""", "get_weather")]
    [InlineData("\"required\"", """{"type":"any"}""", "get_weather")]
    [InlineData("""{"type":"function","function":{"name":"get_time"}}""", """{"type":"tool","name":"get_time"}""", "get_time")]
    [InlineData("\"none\"", """{"type":"none"}""", null)]
    public async Task Tool_choice_is_mapped_and_tools_become_anthropic_tools(string toolChoice, string expected, string? called)
    {
        var completion = await _provider.CompleteAsync(Ask(_deployment, "Rome", with: r => r with { Tools = s_tools, ToolChoice = Json(toolChoice) }), default)
            .WaitAsync(TestTimeout);

        var body = _server.LastRequest!.Body;
        Assert.Equal(expected, body.GetProperty("tool_choice").GetRawText());
        Assert.Equal(
            """[{"name":"get_weather","description":"Weather in a city","input_schema":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}},""" +
            """{"name":"get_time","input_schema":{"type":"object","properties":{"zone":{"type":"string"}}}}]""",
            body.GetProperty("tools").GetRawText());
        if (called is null)
        {
            Assert.Null(completion.ToolCalls);
            Assert.Equal(FinishReasons.Stop, completion.FinishReason);
        }
        else
        {
            var call = Assert.Single(completion.ToolCalls!.Value.EnumerateArray());
            Assert.Equal(called, call.GetProperty("function").GetProperty("name").GetString());
            Assert.Equal(FinishReasons.ToolCalls, completion.FinishReason);
        }
    }

    [Fact]
    public async Task Tool_use_comes_back_as_openai_tool_calls_and_goes_up_again_as_tool_use_and_tool_result()
    {
        var first = await _provider.CompleteAsync(Ask(_deployment, "Paris", with: r => r with { Tools = s_tools }), default).WaitAsync(TestTimeout);

        Assert.Equal(FinishReasons.ToolCalls, first.FinishReason);
        Assert.Null(first.Content);
        var call = Assert.Single(first.ToolCalls!.Value.EnumerateArray());
        var id = call.GetProperty("id").GetString();
        Assert.StartsWith("toolu_", id);
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("""{"city":"Paris","days":1}""", call.GetProperty("function").GetProperty("arguments").GetString());
        Assert.False(_server.LastRequest!.Body.TryGetProperty("tool_choice", out _));

        var followUp = Call(_deployment,
            [
                new ChatMessage(ChatMessage.User, "Paris"),
                new ChatMessage(ChatMessage.Assistant, "Let me look.", ToolCalls: first.ToolCalls),
                new ChatMessage(ChatMessage.Tool, "18°C and sunny", ToolCallId: id),
                new ChatMessage(ChatMessage.User, "And tomorrow?"),
            ],
            with: r => r with { Tools = s_tools, ToolChoice = Json("\"none\"") });
        var second = await _provider.CompleteAsync(followUp, default).WaitAsync(TestTimeout);

        Assert.Equal("Fake anthropic answer: And tomorrow? [tool result: 18°C and sunny]", second.Content);
        Assert.Equal(
            "[" +
            """{"role":"user","content":"Paris"},""" +
            """{"role":"assistant","content":[{"type":"text","text":"Let me look."},{"type":"tool_use","id":"ID","name":"get_weather","input":{"city":"Paris","days":1}}]},""" +
            """{"role":"user","content":[{"type":"tool_result","tool_use_id":"ID","content":"18°C and sunny"},{"type":"text","text":"And tomorrow?"}]}""" +
            "]",
            _server.LastRequest!.Body.GetProperty("messages").GetRawText().Replace(id!, "ID", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Parallel_tool_results_are_one_user_turn_and_the_answer_uses_them()
    {
        var toolCalls = Json("""
            [{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},
             {"id":"toolu_2","type":"function","function":{"name":"get_time","arguments":""}}]
            """);
        var call = Call(_deployment,
            [
                new ChatMessage(ChatMessage.User, "Oslo weather and time"),
                new ChatMessage(ChatMessage.Assistant, null, ToolCalls: toolCalls),
                new ChatMessage(ChatMessage.Tool, "-3°C", ToolCallId: "toolu_1"),
                new ChatMessage(ChatMessage.Tool, "08:00", ToolCallId: "toolu_2"),
            ],
            with: r => r with { Tools = s_tools });

        var completion = await _provider.CompleteAsync(call, default).WaitAsync(TestTimeout);

        Assert.Equal("Fake anthropic answer: Oslo weather and time [tool result: -3°C 08:00]", completion.Content);
        var messages = _server.LastRequest!.Body.GetProperty("messages");
        Assert.Equal(3, messages.GetArrayLength());
        Assert.Equal("""{"type":"tool_use","id":"toolu_2","name":"get_time","input":{}}""", messages[1].GetProperty("content")[1].GetRawText());
        Assert.Equal(2, messages[2].GetProperty("content").GetArrayLength());
    }

    [Fact]
    public async Task Streamed_tool_use_arrives_as_openai_tool_call_fragments()
    {
        var deltas = await CollectAsync(_provider.StreamAsync(Ask(_deployment, "Lima", with: r => r with { Tools = s_tools }), default)).WaitAsync(TestTimeout);

        var (id, name, arguments) = Assert.Single(JoinToolCalls(deltas));
        Assert.StartsWith("toolu_", id);
        Assert.Equal("get_weather", name);
        Assert.Equal("""{"city":"Lima","days":1}""", arguments);
        Assert.Equal(FinishReasons.ToolCalls, deltas[^1].FinishReason);
        Assert.True(deltas[^1].Usage!.Value.PromptTokens > 0);
        Assert.All(deltas.Where(d => d.ToolCalls is not null), d => Assert.Equal(0, d.ToolCalls!.Value[0].GetProperty("index").GetInt32()));
    }

    [Fact]
    public async Task Image_parts_become_image_blocks_with_base64_or_url_sources()
    {
        var parts = Json("""
            [{"type":"text","text":"Compare"},
             {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
             {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg","detail":"high"}}]
            """);

        var completion = await _provider.CompleteAsync(Call(_deployment, [new ChatMessage(ChatMessage.User, "Compare", ContentParts: parts)]), default)
            .WaitAsync(TestTimeout);

        Assert.Equal("Fake anthropic answer: Compare", completion.Content);
        Assert.Equal(
            """[{"type":"text","text":"Compare"},""" +
            """{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},""" +
            """{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]""",
            _server.LastRequest!.Body.GetProperty("messages")[0].GetProperty("content").GetRawText());
    }

    [Fact]
    public async Task A_content_part_anthropic_cannot_take_fails_before_any_call()
    {
        var parts = Json("""[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]""");

        var error = await Assert.ThrowsAsync<ProviderException>(() =>
            _provider.CompleteAsync(Call(_deployment, [new ChatMessage(ChatMessage.User, null, ContentParts: parts)]), default).WaitAsync(TestTimeout));

        Assert.False(error.IsTransient);
        Assert.Contains("input_audio", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _server.CallCount);
    }

    [Fact]
    public async Task A_custom_key_header_is_used_instead_of_x_api_key()
    {
        await using var proxy = await FakeAnthropicServer.StartAsync(new FakeServerOptions { ApiKey = "proxy-key-0123456789", ApiKeyHeader = "Authorization" })
            .WaitAsync(TestTimeout);
        var deployment = Deployment("anthropic", proxy.BaseUrl, "proxy-key-0123456789", apiKeyHeader: "Authorization");

        await _provider.CompleteAsync(Ask(deployment, "Hi"), default).WaitAsync(TestTimeout);

        Assert.Equal("Bearer proxy-key-0123456789", proxy.LastRequest!.Header("Authorization"));
        Assert.Null(proxy.LastRequest.Header("x-api-key"));
    }
}
