using System.Text.Json;
using Microsoft.Extensions.Configuration;
using SmartHub.McpServer.Chat;
using SmartHub.McpServer.Providers;
using SmartHub.McpServer.Tokens;

namespace SmartHub.UnitTests.Chat;

public sealed class TokenCounterTests
{
    [Theory]
    [InlineData("", 0)]
    [InlineData("hello", 1)]
    [InlineData("hello world", 2)]
    [InlineData("Hello, world!", 4)] // Hello | , | ␣world | !
    [InlineData("internationalization", 4)] // 6 + 6 + 6 + 2 letters
    [InlineData("1234567", 3)] // 123 | 456 | 7
    [InlineData("a\n\nb", 3)]
    [InlineData("日本語", 3)]
    public void Counts_tokens_like_a_cl100k_pre_tokenizer(string text, int expected) => Assert.Equal(expected, TokenCounter.Count(text));

    [Theory]
    [InlineData("The hub routes each request to a model.")]
    [InlineData("  leading spaces,   runs of spaces\tand tabs\n\nand 12345 numbers -- and symbols!?")]
    [InlineData("emoji 😀 and CJK 漢字 mixed")]
    public void Tokens_concatenate_back_to_the_text(string text)
    {
        var joined = string.Concat(EnumerateTokens(text));
        Assert.Equal(text, joined);
        Assert.Equal(TokenCounter.Count(text), EnumerateTokens(text).Count);
    }

    [Fact]
    public void A_prompt_counts_OpenAI_s_per_message_overhead()
    {
        ChatMessage[] messages = [new("system", "Be brief."), new("user", "hi", Name: "bob")];

        // 3 reply priming + (3 + system 1 + "Be brief." 3) + (3 + user 1 + hi 1 + name 1 + bob 1)
        Assert.Equal(3 + 7 + 7, TokenCounter.CountPrompt(messages));
    }

    private static List<string> EnumerateTokens(string text)
    {
        var list = new List<string>();
        foreach (var range in TokenCounter.Split(text))
        {
            list.Add(text[range]);
        }

        return list;
    }
}

public sealed class MockProviderTests
{
    private static readonly ChatDeployment s_fast = new() { Provider = "mock", Type = "mock", Model = "mock-fast", UpstreamModel = "mock-fast" };

    [Fact]
    public async Task The_answer_is_a_function_of_the_conversation_and_counts_are_exact()
    {
        var provider = new MockProvider(new MockProviderOptions(), TimeProvider.System);
        var request = new ChatRequest("mock-fast", [new ChatMessage("user", "Same question")]);

        var a = await provider.CompleteAsync(new ChatCall(request, s_fast, 4096), default);
        var b = await provider.CompleteAsync(new ChatCall(request, s_fast, 4096), default);
        var other = await provider.CompleteAsync(new ChatCall(request with { Messages = [new ChatMessage("user", "Another question")] }, s_fast, 4096), default);

        Assert.Equal(a.Content, b.Content);
        Assert.NotEqual(a.Content, other.Content);
        Assert.Equal(TokenCounter.Count(a.Content), a.Usage!.Value.CompletionTokens);
        Assert.Equal(TokenCounter.CountPrompt(request.Messages), a.Usage!.Value.PromptTokens);
        Assert.Equal(FinishReasons.Stop, a.FinishReason);
    }

    [Fact]
    public async Task The_stream_is_the_answer_token_by_token_cut_at_the_limit()
    {
        var provider = new MockProvider(new MockProviderOptions(), TimeProvider.System);
        var request = new ChatRequest("mock-fast", [new ChatMessage("user", "Stream it")]);
        var whole = await provider.CompleteAsync(new ChatCall(request, s_fast, 7), default);

        var deltas = new List<ChatDelta>();
        await foreach (var delta in provider.StreamAsync(new ChatCall(request, s_fast, 7), default))
        {
            deltas.Add(delta);
        }

        Assert.Equal(7, deltas.Count(d => d.Content is not null));
        Assert.Equal(whole.Content, string.Concat(deltas.Select(d => d.Content)));
        Assert.Equal(FinishReasons.Length, deltas[^1].FinishReason);
        Assert.Equal(7, deltas[^1].Usage!.Value.CompletionTokens);
    }
}

public sealed class ModelCatalogTests
{
    [Fact]
    public void Models_map_to_deployments_in_priority_order_with_per_model_settings()
    {
        var catalog = ModelCatalog.Load(Section(new Dictionary<string, string?>
        {
            ["Providers:backup:Type"] = "openai",
            ["Providers:backup:BaseUrl"] = "http://127.0.0.1:9/v1",
            ["Providers:backup:Priority"] = "10",
            ["Providers:backup:Models:0"] = "gpt-4o",
            ["Providers:main:Type"] = "openai",
            ["Providers:main:BaseUrl"] = "https://api.example.com/v1",
            ["Providers:main:ApiKey"] = "sk-secret",
            ["Providers:main:Models:0:Id"] = "gpt-4o",
            ["Providers:main:Models:0:Upstream"] = "gpt-4o-2024-08-06",
            ["Providers:main:Models:0:Rpm"] = "60",
            ["Providers:main:Models:0:Timeout"] = "00:00:20",
        }));

        Assert.Empty(catalog.Errors);
        Assert.True(catalog.TryGet("gpt-4o", out var deployments));
        Assert.Equal(["main/gpt-4o-2024-08-06", "backup/gpt-4o"], deployments.Select(d => d.Name));
        Assert.Equal(60, deployments[0].RequestsPerMinute);
        Assert.Equal(TimeSpan.FromSeconds(20), deployments[0].Timeout);
        Assert.Equal("https://api.example.com/v1/", deployments[0].BaseUrl!.ToString());
        Assert.Equal("[redacted]", deployments[0].ApiKey!.ToString());
        Assert.Equal("sk-secret", deployments[0].ApiKey!.Reveal());
    }

    [Fact]
    public void Every_configuration_problem_is_named()
    {
        var catalog = ModelCatalog.Load(Section(new Dictionary<string, string?>
        {
            ["Providers:a:Type"] = "cohere",
            ["Providers:b:Type"] = "openai",
            ["Providers:b:Models:0"] = "x",
            ["Providers:c:Type"] = "anthropic",
            ["Providers:c:BaseUrl"] = "https://api.anthropic.com/v1",
            ["Providers:c:Models:0"] = "claude",
            ["Providers:d:Type"] = "mock",
            ["Providers:d:Rpm"] = "-1",
            ["Providers:d:Models:0"] = "consensus:x,y",
            ["Providers:e:Type"] = "openai",
            ["Providers:e:BaseUrl"] = "https://api.openai.com/v1",
            ["Providers:e:MaxTokensField"] = "max_output_tokens",
            ["Providers:e:StreamUsage"] = "sometimes",
            ["Providers:e:Models:0"] = "o3",
        }));

        Assert.Contains(catalog.Errors, e => e.StartsWith("Providers:a:Type", StringComparison.Ordinal));
        Assert.Contains(catalog.Errors, e => e.StartsWith("Providers:b:BaseUrl", StringComparison.Ordinal));
        Assert.Contains(catalog.Errors, e => e.StartsWith("Providers:c:ApiKey", StringComparison.Ordinal));
        Assert.Contains(catalog.Errors, e => e.StartsWith("Providers:d:Rpm", StringComparison.Ordinal));
        Assert.Contains(catalog.Errors, e => e.StartsWith("Providers:d:Models:0", StringComparison.Ordinal));
        Assert.Contains(catalog.Errors, e => e.StartsWith("Providers:e:MaxTokensField", StringComparison.Ordinal));
        Assert.Contains(catalog.Errors, e => e.StartsWith("Providers:e:StreamUsage", StringComparison.Ordinal));
    }

    private static IConfigurationSection Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("Providers");
}

public sealed class ConsensusTests
{
    [Theory]
    [InlineData("consensus:a,b", true)]
    [InlineData("consensus:a, b ,c", true)]
    [InlineData("consensus:a", false)]
    [InlineData("consensus:a,a", false)]
    [InlineData("consensus:a,,b", false)]
    [InlineData("consensus:a,b,c,d,e,f", false)]
    [InlineData("consensus:a,consensus:b", false)]
    public void Consensus_ids_list_two_to_five_distinct_models(string model, bool valid)
    {
        Assert.Equal(valid, Consensus.Parse(model, out var problem) is not null);
        Assert.Equal(valid, problem is null);
    }

    [Fact]
    public void Identical_answers_win_by_majority()
    {
        var (chosen, strategy, agreement, _) = Consensus.Choose(["Paris is the capital.", "The capital is Lyon.", "paris is the CAPITAL"]);

        Assert.Equal(0, chosen);
        Assert.Equal("majority", strategy);
        Assert.Equal(2 / 3.0, agreement, 6);
    }

    [Fact]
    public void Otherwise_the_answer_most_similar_to_the_others_wins()
    {
        var (chosen, strategy, _, similarity) = Consensus.Choose(["the sky is blue today", "bananas are yellow", "the sky is blue"]);

        Assert.Equal("similarity", strategy);
        Assert.Equal(0, chosen); // shares most words with the third; the second agrees with nobody
        Assert.Equal(0, similarity[1]);
    }
}

public sealed class ChatRequestParserTests
{
    [Fact]
    public void A_full_request_is_read_with_tools_parts_and_limits()
    {
        var request = Parse("""
            {"model":"gpt-4o","messages":[
              {"role":"system","content":"Be brief."},
              {"role":"user","content":[{"type":"text","text":"What is "},{"type":"image_url","image_url":{"url":"data:,"}},{"type":"text","text":"this?"}]},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"look","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"a cat"}],
             "temperature":0,"top_p":0.5,"max_tokens":100,"max_completion_tokens":50,"stop":"END","stream":true,
             "stream_options":{"include_usage":true},"user":"u1","seed":7,
             "tools":[{"type":"function","function":{"name":"look","parameters":{"type":"object"}}}],"tool_choice":"auto",
             "logprobs":false,"store":false}
            """);

        Assert.Equal("gpt-4o", request.Model);
        Assert.Equal(4, request.Messages.Count);
        Assert.Equal("What is this?", request.Messages[1].Content);
        Assert.Equal(JsonValueKind.Array, request.Messages[1].ContentParts!.Value.ValueKind);
        Assert.Equal("call_1", request.Messages[3].ToolCallId);
        Assert.Equal(50, request.MaxTokens); // max_completion_tokens wins
        Assert.Equal(["END"], request.Stop!);
        Assert.True(request.Stream && request.IncludeUsage);
        Assert.Equal(7, request.Seed);
        Assert.NotNull(request.Tools);
        Assert.Equal(0, request.Temperature);
    }

    private static ChatRequest Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return ChatRequestParser.Parse(document.RootElement);
    }
}
