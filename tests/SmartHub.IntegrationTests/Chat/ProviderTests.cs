using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using SmartHub.IntegrationTests.Hosting;

namespace SmartHub.IntegrationTests.Chat;

/// <summary>
/// Real provider code against fake upstreams that speak OpenAI's and Anthropic's protocols, configured through the
/// AppHost as an operator would (GraphFixture): fallback from a failing deployment, retries honouring Retry-After,
/// Anthropic translation both ways (streaming too), and upstream errors mapped to OpenAI's shape.
/// </summary>
[Collection(GraphCollection.Name)]
public sealed class ProviderTests(GraphFixture graph) : IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        graph.OpenAiPrimary.Reset();
        graph.OpenAiBackup.Reset();
        graph.Anthropic.Reset();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_failing_deployment_falls_back_to_the_next_and_the_response_says_which_served()
    {
        var key = await NewKeyAsync();
        graph.OpenAiPrimary.FailAlways(503, "primary is down");
        var before = graph.OpenAiBackup.CallCount;

        var (completion, response) = await CompleteAsync(Chat(key, "gpt-test"), "Who answers?");

        Assert.Equal("backup/gpt-test", response.GetValueOrDefault("X-SmartHub-Provider"));
        Assert.Contains("Who answers?", completion.Content[0].Text, StringComparison.Ordinal);
        Assert.Equal(before + 1, graph.OpenAiBackup.CallCount);
        Assert.True(graph.OpenAiPrimary.CallCount >= 1);
        // The upstream saw the hub's key for it, never the caller's.
        Assert.Equal($"Bearer {graph.OpenAiBackup.ApiKey}", graph.OpenAiBackup.LastRequest!.Header("Authorization"));
    }

    [Fact]
    public async Task A_rate_limited_deployment_is_retried_after_its_Retry_After()
    {
        var key = await NewKeyAsync();
        graph.OpenAiPrimary.FailNext(1, 429, TimeSpan.FromSeconds(1), "slow down");
        var started = DateTime.UtcNow;

        var (_, response) = await CompleteAsync(Chat(key, "gpt-test"), "Retry me");

        Assert.Equal("primary/gpt-test", response.GetValueOrDefault("X-SmartHub-Provider"));
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.9), "the retry waited for Retry-After");
        Assert.Equal(0, graph.OpenAiBackup.Requests.Count(r => r.BodyText.Contains("Retry me", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Every_deployment_failing_is_a_502_the_SDK_raises_and_nothing_is_charged()
    {
        var user = await graph.NewUserAsync();
        var (_, key) = await graph.NewApiKeyAsync(user);
        graph.OpenAiPrimary.FailAlways(500, "boom");
        graph.OpenAiBackup.FailAlways(500, "boom");

        var failure = await Assert.ThrowsAsync<ClientResultException>(() => Chat(key, "gpt-test").CompleteChatAsync([new UserChatMessage("hi")]));

        // 502 (upstream errors), or 503 once the deployments' circuits have opened after the failures of this collection.
        Assert.Contains(failure.Status, new[] { 502, 503 });
        Assert.DoesNotContain(graph.OpenAiPrimary.ApiKey!, failure.Message, StringComparison.Ordinal);
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        await Poll.UntilAsync(
            async () => (await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/balance")) is var b
                && b.GetProperty("reserved").GetInt64() == 0 && b.GetProperty("balance").GetInt64() == 1000,
            TimeSpan.FromSeconds(10),
            "the reservation is released and nothing charged");
    }

    [Fact]
    public async Task An_upstream_400_is_the_callers_400_without_fallback()
    {
        var key = await NewKeyAsync();
        graph.OpenAiPrimary.FailNext(1, 400, message: "Invalid 'messages': too long");

        var failure = await Assert.ThrowsAsync<ClientResultException>(() => Chat(key, "gpt-test").CompleteChatAsync([new UserChatMessage("Bad one")]));

        Assert.Equal(400, failure.Status);
        Assert.Contains("too long", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(graph.OpenAiBackup.Requests, r => r.BodyText.Contains("Bad one", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Anthropic_is_translated_to_and_from_OpenAI_s_shape()
    {
        var key = await NewKeyAsync();

        var (completion, response) = await CompleteAsync(
            Chat(key, "claude-test"), [new SystemChatMessage("Answer in French."), new UserChatMessage("Bonjour?")], new ChatCompletionOptions { MaxOutputTokenCount = 50 });

        Assert.Equal("anthropic/claude-3-5-haiku-latest", response.GetValueOrDefault("X-SmartHub-Provider"));
        Assert.Contains("Bonjour?", completion.Content[0].Text, StringComparison.Ordinal);
        Assert.True(completion.Usage.InputTokenCount > 0 && completion.Usage.OutputTokenCount > 0);
        var sent = graph.Anthropic.LastRequest!;
        Assert.EndsWith("/messages", sent.Path, StringComparison.Ordinal);
        Assert.Equal(graph.Anthropic.ApiKey, sent.Header("x-api-key"));
        Assert.NotNull(sent.Header("anthropic-version"));
        Assert.Equal("claude-3-5-haiku-latest", sent.Body.GetProperty("model").GetString());
        Assert.Equal("Answer in French.", sent.Body.GetProperty("system").GetString());
        Assert.Equal(50, sent.Body.GetProperty("max_tokens").GetInt32());
        Assert.Single(sent.Body.GetProperty("messages").EnumerateArray());
    }

    [Fact]
    public async Task Anthropic_streams_arrive_as_OpenAI_chunks_with_usage()
    {
        var key = await NewKeyAsync();
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;

        await foreach (var update in Chat(key, "claude-test").CompleteChatStreamingAsync([new UserChatMessage("Stream from Claude please")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage = update.Usage ?? usage;
            finish = update.FinishReason ?? finish;
        }

        Assert.Contains("Stream from Claude please", text.ToString(), StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.True(usage.OutputTokenCount > 0);
        Assert.True(graph.Anthropic.LastRequest!.Stream);
    }

    [Fact]
    public async Task Provider_keys_never_reach_logs_or_answers_even_when_an_upstream_echoes_them()
    {
        var key = await NewKeyAsync();
        // As OpenAI does on a wrong key: the error message quotes it.
        graph.OpenAiPrimary.FailNext(1, 401, message: $"Incorrect API key provided: {graph.OpenAiPrimary.ApiKey}.");

        var (completion, response) = await CompleteAsync(Chat(key, "gpt-test"), "Echo test");

        Assert.Equal("backup/gpt-test", response.GetValueOrDefault("X-SmartHub-Provider"));
        Assert.DoesNotContain(graph.OpenAiPrimary.ApiKey!, completion.Content[0].Text, StringComparison.Ordinal);
        foreach (var resource in new[] { "mcp", "gateway", "core", "auth" })
        {
            var lines = graph.App.GetLog(resource).Tail(2000);
            foreach (var secret in new[] { graph.OpenAiPrimary.ApiKey!, graph.OpenAiBackup.ApiKey!, graph.Anthropic.ApiKey! })
            {
                Assert.DoesNotContain(lines, line => line.Contains(secret, StringComparison.Ordinal));
            }
        }
    }

    private async Task<string> NewKeyAsync()
    {
        var user = await graph.NewUserAsync();
        return (await graph.NewApiKeyAsync(user)).Key;
    }

    private ChatClient Chat(string key, string model) =>
        new(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(graph.Gateway.BaseAddress!, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60), RetryPolicy = new ClientRetryPolicy(0) });

    private static Task<(ChatCompletion, IReadOnlyDictionary<string, string>)> CompleteAsync(ChatClient client, string prompt) =>
        CompleteAsync(client, [new UserChatMessage(prompt)], null);

    private static async Task<(ChatCompletion, IReadOnlyDictionary<string, string>)> CompleteAsync(ChatClient client, ChatMessage[] messages, ChatCompletionOptions? options)
    {
        var result = await client.CompleteChatAsync(messages, options);
        var raw = result.GetRawResponse();
        var headers = raw.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase);
        return (result.Value, headers);
    }
}
