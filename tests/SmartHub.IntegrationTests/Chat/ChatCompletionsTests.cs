using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using SmartHub.IntegrationTests.Hosting;

namespace SmartHub.IntegrationTests.Chat;

/// <summary>
/// The OpenAI-compatible chat API through the gateway, called with the official OpenAI .NET client where it can be:
/// answers, streams, errors the SDK raises as usual, credits reserved and captured, one usage record per request, the
/// cache, and a caller that leaves mid-stream.
/// </summary>
[Collection(GraphCollection.Name)]
public sealed class ChatCompletionsTests(GraphFixture graph)
{
    [Fact]
    public async Task The_official_client_gets_a_completion_with_usage_and_is_charged_for_it()
    {
        var (user, key) = await NewCallerAsync();
        var client = Chat(key, "mock-fast");

        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("What does the hub do?")]);

        Assert.StartsWith("Mock answer to: What does the hub do?", completion.Content[0].Text, StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.True(completion.Usage.InputTokenCount > 5);
        Assert.True(completion.Usage.OutputTokenCount > 10);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        Assert.Equal("mock-fast", completion.Model);
        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);

        // mock-fast: 0.5 credits per 1K prompt tokens and 1.5 per 1K completion tokens, rounded up: 1 credit.
        var expected = (long)Math.Ceiling(((completion.Usage.InputTokenCount * 0.5m) + (completion.Usage.OutputTokenCount * 1.5m)) / 1000m);
        var balance = await BalanceWhenSettledAsync(user);
        Assert.Equal(1000 - expected, balance.GetProperty("balance").GetInt64());

        var usage = await UsageWhenStoredAsync(user, requests: 1);
        var totals = usage.GetProperty("totals");
        Assert.Equal(completion.Usage.InputTokenCount, totals.GetProperty("promptTokens").GetInt64());
        Assert.Equal(completion.Usage.OutputTokenCount, totals.GetProperty("completionTokens").GetInt64());
        Assert.Equal(expected, totals.GetProperty("credits").GetInt64());
        Assert.Equal(0, totals.GetProperty("errors").GetInt64());
    }

    [Fact]
    public async Task The_official_client_streams_the_same_answer_with_a_usage_chunk()
    {
        var (_, key) = await NewCallerAsync();
        var client = Chat(key, "mock-smart");
        List<ChatMessage> messages = [new SystemChatMessage("Be brief."), new UserChatMessage("Tell me about streaming")];

        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        var chunks = 0;
        await foreach (var update in client.CompleteChatStreamingAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = 40 }))
        {
            chunks++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage = update.Usage ?? usage;
            finish = update.FinishReason ?? finish;
        }

        ChatCompletion whole = await client.CompleteChatAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = 40 });
        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.NotNull(usage);
        Assert.Equal(40, usage.OutputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
        Assert.True(chunks >= 40, $"one chunk per token expected, got {chunks}");
    }

    [Fact]
    public async Task Models_are_listed_for_the_official_client()
    {
        var (_, key) = await NewCallerAsync();
        var models = new OpenAIClient(new ApiKeyCredential(key), Options()).GetOpenAIModelClient();

        var list = (await models.GetModelsAsync()).Value;

        Assert.Contains(list, m => m.Id == "mock-fast" && m.OwnedBy == "mock");
        Assert.Contains(list, m => m.Id == "mock-smart" && m.OwnedBy == "mock");
        Assert.Equal("mock", (await models.GetModelAsync("mock-smart")).Value.OwnedBy);
    }

    [Fact]
    public async Task Errors_reach_the_official_client_with_their_status()
    {
        var (_, key) = await NewCallerAsync();

        var unknown = await Assert.ThrowsAsync<ClientResultException>(() => Chat(key, "no-such-model").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(404, unknown.Status);
        Assert.Contains("model_not_found", unknown.Message, StringComparison.Ordinal);

        var invalid = await Assert.ThrowsAsync<ClientResultException>(() =>
            Chat(key, "mock-fast").CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { Temperature = 7 }));
        Assert.Equal(400, invalid.Status);

        var unauthorized = await Assert.ThrowsAsync<ClientResultException>(() =>
            Chat("shk_not_a_real_key_000000000000000000000000", "mock-fast").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, unauthorized.Status);
    }

    [Theory]
    [InlineData("{", "invalid_json", null)]
    [InlineData("[]", "invalid_value", null)]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", "invalid_value", "model")]
    [InlineData("""{"model":"mock-fast"}""", "invalid_value", "messages")]
    [InlineData("""{"model":"mock-fast","messages":[]}""", "invalid_value", "messages")]
    [InlineData("""{"model":"mock-fast","messages":[{"role":"wizard","content":"hi"}]}""", "invalid_value", "messages[0].role")]
    [InlineData("""{"model":"mock-fast","messages":[{"role":"user"}]}""", "invalid_value", "messages[0].content")]
    [InlineData("""{"model":"mock-fast","messages":[{"role":"tool","content":"42"}]}""", "invalid_value", "messages[0].tool_call_id")]
    [InlineData("""{"model":"mock-fast","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", "invalid_value", "temperature")]
    [InlineData("""{"model":"mock-fast","messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "invalid_value", "max_tokens")]
    [InlineData("""{"model":"mock-fast","messages":[{"role":"user","content":"hi"}],"n":2}""", "invalid_value", "n")]
    [InlineData("""{"model":"mock-fast","messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}""", "invalid_value", "stop")]
    [InlineData("""{"model":"mock-fast","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}""", "invalid_value", "stream_options")]
    [InlineData("""{"model":"mock-fast","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function"}]}""", "invalid_value", "tools")]
    [InlineData("""{"model":"mock-fast","messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}""", "invalid_value", "tool_choice")]
    public async Task Bad_requests_get_a_400_in_OpenAI_shape_naming_the_parameter(string body, string code, string? param)
    {
        var (_, key) = await NewCallerAsync();
        using var client = graph.Client(apiKey: key);

        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task A_request_that_could_cost_more_than_the_balance_is_refused_with_402_and_nothing_held()
    {
        var (user, key) = await NewCallerAsync();

        // mock-smart: 15 credits per 1K completion tokens; 100,000 tokens could cost 1,500 credits > 1,000.
        var refused = await Assert.ThrowsAsync<ClientResultException>(() =>
            Chat(key, "mock-smart").CompleteChatAsync([new UserChatMessage("Write a novel")], new ChatCompletionOptions { MaxOutputTokenCount = 100_000 }));

        Assert.Equal(402, refused.Status);
        Assert.Contains("insufficient_credits", refused.Message, StringComparison.Ordinal);
        var balance = await BalanceWhenSettledAsync(user);
        Assert.Equal(1000, balance.GetProperty("balance").GetInt64());
        var usage = await UsageWhenStoredAsync(user, requests: 1);
        Assert.Equal(1, usage.GetProperty("totals").GetProperty("errors").GetInt64());
    }

    [Fact]
    public async Task A_deterministic_request_is_served_from_the_cache_free_unless_the_caller_opts_out()
    {
        var (user, key) = await NewCallerAsync();
        using var client = graph.Client(apiKey: key);
        var body = new { model = "mock-smart", temperature = 0, max_tokens = 30, messages = new[] { new { role = "user", content = $"Cache me {Guid.NewGuid():N}" } } };

        using var first = await client.PostAsJsonAsync("/v1/chat/completions", body);
        using var second = await client.PostAsJsonAsync("/v1/chat/completions", body);
        using var bypass = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(body) };
        bypass.Headers.CacheControl = new System.Net.Http.Headers.CacheControlHeaderValue { NoCache = true };
        using var third = await client.SendAsync(bypass);

        Assert.Equal("MISS", first.Headers.GetValues("X-Cache").Single());
        Assert.Equal("HIT", second.Headers.GetValues("X-Cache").Single());
        Assert.Equal("MISS", third.Headers.GetValues("X-Cache").Single());
        var a = await first.Content.ReadFromJsonAsync<JsonElement>();
        var b = await second.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Text(a), Text(b));
        Assert.NotEqual(a.GetProperty("id").GetString(), b.GetProperty("id").GetString());
        Assert.Equal(0, b.GetProperty("smarthub").GetProperty("credits").GetInt64());
        Assert.True(b.GetProperty("smarthub").GetProperty("cache_hit").GetBoolean());
        var charged = a.GetProperty("smarthub").GetProperty("credits").GetInt64() * 2;
        Assert.True(charged > 0);

        var balance = await BalanceWhenSettledAsync(user);
        Assert.Equal(1000 - charged, balance.GetProperty("balance").GetInt64());
        var usage = await UsageWhenStoredAsync(user, requests: 3);
        Assert.Equal(1, usage.GetProperty("totals").GetProperty("cacheHits").GetInt64());
    }

    [Fact]
    public async Task A_caller_that_leaves_mid_stream_is_charged_only_for_the_tokens_produced()
    {
        var (user, key) = await NewCallerAsync();
        // No draining: a disposed response closes its connection at once, as a client that goes away does.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0, ResponseDrainTimeout = TimeSpan.Zero }) { BaseAddress = graph.Gateway.BaseAddress };
        client.DefaultRequestHeaders.Add("X-API-Key", key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "mock-smart", stream = true, max_tokens = 2000, messages = new[] { new { role = "user", content = "Talk for a long time" } } }),
        };

        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var events = 0;
            while (events < 5 && await reader.ReadLineAsync() is { } line)
            {
                events += line.StartsWith("data: ", StringComparison.Ordinal) ? 1 : 0;
            }
        }

        // The whole answer (asked by someone else, without streaming): mock-smart writes 60+ words at 50 tokens/s.
        var (_, otherKey) = await NewCallerAsync();
        ChatCompletion whole = await Chat(otherKey, "mock-smart").CompleteChatAsync(
            [new UserChatMessage("Talk for a long time")], new ChatCompletionOptions { MaxOutputTokenCount = 2000 });

        // The caller left after 4 tokens; the hub noticed within a few hundred milliseconds (a few more tokens).
        var usage = await UsageWhenStoredAsync(user, requests: 1);
        var totals = usage.GetProperty("totals");
        Assert.Equal(1, totals.GetProperty("errors").GetInt64()); // status 499
        var produced = totals.GetProperty("completionTokens").GetInt64();
        Assert.InRange(produced, 4, whole.Usage.OutputTokenCount / 2);
        var balance = await BalanceWhenSettledAsync(user);
        Assert.Equal(totals.GetProperty("credits").GetInt64(), 1000 - balance.GetProperty("balance").GetInt64());
        Assert.True(totals.GetProperty("credits").GetInt64() <= 1, "a handful of mock-smart tokens costs at most a credit");
    }

    [Fact]
    public async Task Consensus_asks_every_model_charges_every_call_and_reports_the_agreement()
    {
        var (user, key) = await NewCallerAsync();
        using var client = graph.Client(apiKey: key);
        var messages = new[] { new { role = "user", content = "Do the mocks agree?" } };

        using var response = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "consensus:mock-fast,mock-smart", max_tokens = 20, messages });
        using var alone = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "mock-fast", max_tokens = 20, messages });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("consensus", response.Headers.GetValues("X-SmartHub-Provider").Single());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Text(await alone.Content.ReadFromJsonAsync<JsonElement>()), Text(body)); // the mocks answer alike
        var consensus = body.GetProperty("smarthub").GetProperty("consensus");
        Assert.Equal("majority", consensus.GetProperty("strategy").GetString());
        Assert.Equal(1.0, consensus.GetProperty("agreement").GetDouble());
        Assert.Equal(["mock-fast", "mock-smart"], consensus.GetProperty("votes").EnumerateArray().Select(v => v.GetProperty("model").GetString()));
        // Both calls are charged: the usage sums them (2 x 20 completion tokens), in one record.
        Assert.Equal(40, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var usage = await UsageWhenStoredAsync(user, requests: 2);
        Assert.Equal(2, usage.GetProperty("totals").GetProperty("requests").GetInt64());
        Assert.Equal(60, usage.GetProperty("totals").GetProperty("completionTokens").GetInt64());

        using var invalid = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "consensus:mock-fast", messages });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        using var unknown = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "consensus:mock-fast,nope", messages });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    private static string? Text(JsonElement completion) =>
        completion.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();

    private async Task<(TestUser User, string Key)> NewCallerAsync()
    {
        var user = await graph.NewUserAsync();
        var (_, key) = await graph.NewApiKeyAsync(user);
        return (user, key);
    }

    private OpenAIClientOptions Options() => new() { Endpoint = new Uri(graph.Gateway.BaseAddress!, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(30) };

    private ChatClient Chat(string key, string model) => new(model, new ApiKeyCredential(key), Options());

    /// <summary>The caller's balance once nothing is held any more (captures and releases have landed).</summary>
    private async Task<JsonElement> BalanceWhenSettledAsync(TestUser user)
    {
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        JsonElement last = default;
        await Poll.UntilAsync(
            async () =>
            {
                last = await client.GetFromJsonAsync<JsonElement>("/api/v1/credits/balance");
                return last.GetProperty("reserved").GetInt64() == 0;
            },
            TimeSpan.FromSeconds(10),
            "no credits are held");
        return last;
    }

    private async Task<JsonElement> UsageWhenStoredAsync(TestUser user, long requests)
    {
        using var client = graph.Client(bearer: user.Tokens.AccessToken);
        JsonElement last = default;
        await Poll.UntilAsync(
            async () =>
            {
                last = await client.GetFromJsonAsync<JsonElement>("/api/v1/usage");
                return last.GetProperty("totals").GetProperty("requests").GetInt64() >= requests;
            },
            TimeSpan.FromSeconds(15),
            $"{requests} requests are in the caller's usage");
        return last;
    }
}
