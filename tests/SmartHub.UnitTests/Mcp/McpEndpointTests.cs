using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using SmartHub.McpServer.Mcp;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.UnitTests.Mcp;

/// <summary>/mcp with sessions, in process: the official client end to end, and raw HTTP for the protocol's edges.</summary>
public sealed class McpEndpointTests(StatefulMcpHost host) : IClassFixture<StatefulMcpHost>
{
    private static readonly string[] s_chatUse = [Permissions.ChatUse];

    private string NewKey() => host.Keys.NewKey(s_chatUse).Key;

    [Fact]
    public async Task The_client_opens_a_session_and_lists_the_four_tools()
    {
        await using var client = await host.ConnectAsync(NewKey());

        var tools = await client.ListToolsAsync();

        Assert.False(string.IsNullOrEmpty(client.SessionId));
        Assert.Equal("2025-06-18", client.NegotiatedProtocolVersion);
        Assert.Equal(["chat", "get_balance", "get_usage", "list_models"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.All(tools, tool =>
        {
            Assert.False(string.IsNullOrWhiteSpace(tool.Description));
            Assert.Equal("object", tool.JsonSchema.GetProperty("type").GetString());
        });
        var chat = tools.Single(t => t.Name == "chat").JsonSchema;
        Assert.Equal(["model"], chat.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task A_client_without_a_pinned_version_falls_back_from_the_discover_probe_to_initialize_at_once()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        await using var client = await host.ConnectAsync(NewKey(), protocolVersion: null);

        Assert.True(started.Elapsed < TimeSpan.FromSeconds(4), $"connecting took {started.Elapsed}");
        Assert.Contains(client.NegotiatedProtocolVersion, McpHttpHandler.ProtocolVersions);
        Assert.False(string.IsNullOrEmpty(client.SessionId));
    }

    [Fact]
    public async Task List_models_returns_the_catalog()
    {
        await using var client = await host.ConnectAsync(NewKey());

        var result = await client.CallToolAsync(McpTools.ListModels);

        Assert.NotEqual(true, result.IsError);
        var models = result.StructuredContent!.Value.GetProperty("models").EnumerateArray()
            .Select(m => (m.GetProperty("id").GetString(), m.GetProperty("owned_by").GetString())).ToList();
        Assert.Equal([("mock-fast", "mock"), ("mock-smart", "mock")], models);
        Assert.Contains("mock-fast", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_returns_the_answer_as_text_and_the_usage_as_structured_content_with_the_callers_identity()
    {
        var (userId, key) = host.Keys.NewKey(s_chatUse);
        await using var client = await host.ConnectAsync(key);

        var result = await client.CallToolAsync(McpTools.Chat, new Dictionary<string, object?>
        {
            ["model"] = "mock-fast",
            ["prompt"] = "hello " + userId,
            ["max_tokens"] = 50,
            ["temperature"] = 0.5,
        });

        Assert.NotEqual(true, result.IsError);
        Assert.Equal("echo: hello " + userId, Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        var usage = result.StructuredContent!.Value;
        Assert.Equal(5, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(7, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(2, usage.GetProperty("credits").GetInt64());
        Assert.Equal("mock", usage.GetProperty("provider").GetString());
        Assert.False(usage.GetProperty("cache_hit").GetBoolean());
        var call = host.Chat.Calls.Single(c => c.Request.Messages[^1].Content == "hello " + userId);
        Assert.Equal(userId, call.Caller.UserId());
        Assert.Equal(50, call.Request.MaxTokens);
        Assert.Equal(0.5, call.Request.Temperature);
    }

    [Fact]
    public async Task Chat_takes_a_conversation()
    {
        await using var client = await host.ConnectAsync(NewKey());
        var marker = Guid.NewGuid().ToString("N");

        var result = await client.CallToolAsync(McpTools.Chat, new Dictionary<string, object?>
        {
            ["model"] = "mock-smart",
            ["messages"] = new object[]
            {
                new { role = "system", content = "Be brief." },
                new { role = "user", content = "Hi" },
                new { role = "assistant", content = "Hello." },
                new { role = "user", content = marker },
            },
        });

        Assert.NotEqual(true, result.IsError);
        var call = host.Chat.Calls.Single(c => c.Request.Messages[^1].Content == marker);
        Assert.Equal(["system", "user", "assistant", "user"], call.Request.Messages.Select(m => m.Role));
        Assert.Equal("mock-smart", call.Request.Model);
    }

    [Theory]
    [InlineData("""{"model":"mock-fast","prompt":"no credits"}""", "Insufficient credits")]
    [InlineData("""{"model":"gpt-unknown","prompt":"hi"}""", "Unknown model 'gpt-unknown'")]
    [InlineData("""{"model":"mock-fast"}""", "either 'prompt'")]
    [InlineData("""{"model":"mock-fast","prompt":"hi","messages":[{"role":"user","content":"x"}]}""", "either 'prompt'")]
    [InlineData("""{"model":"mock-fast","messages":[{"role":"tool","content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"model":"mock-fast","prompt":"hi","temperature":3}""", "'temperature'")]
    [InlineData("""{"model":"mock-fast","prompt":"hi","max_tokens":0}""", "'max_tokens'")]
    [InlineData("""{"model":"mock-fast","prompt":"hi","stream":true}""", "Unknown argument 'stream'")]
    public async Task Chat_failures_are_tool_errors_that_say_what_happened(string arguments, string expected)
    {
        await using var client = await host.ConnectAsync(NewKey());

        var result = await client.CallToolAsync(McpTools.Chat,
            JsonSerializer.Deserialize<Dictionary<string, object?>>(arguments));

        Assert.True(result.IsError);
        Assert.Contains(expected, Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_balance_forwards_the_callers_own_key_to_core()
    {
        var (userId, key) = host.Keys.NewKey(s_chatUse);
        await using var client = await host.ConnectAsync(key);

        var result = await client.CallToolAsync(McpTools.GetBalance);

        Assert.NotEqual(true, result.IsError);
        var balance = result.StructuredContent!.Value;
        Assert.Equal(1000, balance.GetProperty("available").GetInt64());
        Assert.Equal(userId, balance.GetProperty("userId").GetGuid());
        Assert.True(balance.GetProperty("viaApiKeyHeader").GetBoolean());
    }

    [Fact]
    public async Task Get_usage_passes_its_arguments_as_the_query_and_relays_core_refusals()
    {
        await using var client = await host.ConnectAsync(NewKey());

        var result = await client.CallToolAsync(McpTools.GetUsage, new Dictionary<string, object?>
        {
            ["from"] = "2026-01-01",
            ["to"] = "2026-01-31T00:00:00+01:00",
            ["group_by"] = "model",
        });
        var refused = await client.CallToolAsync(McpTools.GetUsage, new Dictionary<string, object?> { ["group_by"] = "week" });

        Assert.NotEqual(true, result.IsError);
        Assert.Equal("?from=2026-01-01&to=2026-01-31T00%3A00%3A00%2B01%3A00&groupBy=model", result.StructuredContent!.Value.GetProperty("query").GetString());
        Assert.True(refused.IsError);
        Assert.Contains("group_by", Assert.IsType<TextContentBlock>(Assert.Single(refused.Content)).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_user_presenting_a_session_id_gets_404_as_for_an_unknown_session()
    {
        await using var alice = await host.ConnectAsync(NewKey());
        var bob = NewKey();

        using var stolen = await host.PostAsync(McpTestHost.ToolsList(), bob, sessionId: alice.SessionId);
        using var unknown = await host.PostAsync(McpTestHost.ToolsList(), bob, sessionId: "no-such-session");
        using var stolenGet = await host.SendAsync(new HttpRequestMessage(HttpMethod.Get, host.Endpoint), bob, alice.SessionId, accept: "text/event-stream");
        using var stolenDelete = await host.SendAsync(new HttpRequestMessage(HttpMethod.Delete, host.Endpoint), bob, alice.SessionId);

        Assert.Equal(HttpStatusCode.NotFound, stolen.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, stolenGet.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, stolenDelete.StatusCode);
        Assert.Equal(await stolen.Content.ReadAsStringAsync(), await unknown.Content.ReadAsStringAsync());
        Assert.Equal(McpHttpHandler.SessionNotFoundCode, (await ErrorAsync(stolen)).GetProperty("code").GetInt32());
        // Alice's session is untouched.
        Assert.Equal(4, (await alice.ListToolsAsync()).Count);
    }

    [Fact]
    public async Task The_same_user_with_another_key_may_use_the_session()
    {
        var (userId, first) = host.Keys.NewKey(s_chatUse);
        var second = host.Keys.NewKey(s_chatUse, userId).Key;
        await using var client = await host.ConnectAsync(first);

        using var response = await host.PostAsync(McpTestHost.ToolsList(), second, sessionId: client.SessionId);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("list_models", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_ends_the_session_and_its_id_then_answers_404()
    {
        var key = NewKey();
        var sessionId = await InitializeAsync(key);

        using var delete = await host.SendAsync(new HttpRequestMessage(HttpMethod.Delete, host.Endpoint), key, sessionId);
        using var after = await host.PostAsync(McpTestHost.ToolsList(), key, sessionId);

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
        Assert.Null(host.Sessions.Find(sessionId, Guid.NewGuid()));
    }

    [Fact]
    public async Task A_raw_session_answers_requests_as_server_sent_events_and_notifications_with_202()
    {
        var key = NewKey();
        var sessionId = await InitializeAsync(key);

        using var initialized = await host.PostAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}""", key, sessionId);
        using var list = await host.PostAsync(McpTestHost.ToolsList(7), key, sessionId);

        Assert.Equal(HttpStatusCode.Accepted, initialized.StatusCode);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal("text/event-stream", list.Content.Headers.ContentType?.MediaType);
        Assert.Equal(sessionId, list.Headers.GetValues(McpHttpHandler.SessionIdHeader).Single());
        var data = SseData(await list.Content.ReadAsStringAsync());
        Assert.Equal(7, data.GetProperty("id").GetInt32());
        Assert.Equal(4, data.GetProperty("result").GetProperty("tools").GetArrayLength());
    }

    [Fact]
    public async Task The_get_stream_opens_once_per_session()
    {
        var key = NewKey();
        var sessionId = await InitializeAsync(key);

        using var first = await host.SendAsync(new HttpRequestMessage(HttpMethod.Get, host.Endpoint), key, sessionId, accept: "text/event-stream");
        using var second = await host.SendAsync(new HttpRequestMessage(HttpMethod.Get, host.Endpoint), key, sessionId, accept: "text/event-stream");
        using var noAccept = await host.SendAsync(new HttpRequestMessage(HttpMethod.Get, host.Endpoint), key, sessionId, accept: "application/json");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("text/event-stream", first.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal(HttpStatusCode.NotAcceptable, noAccept.StatusCode);
    }

    [Theory]
    [InlineData("application/json", HttpStatusCode.NotAcceptable)]
    [InlineData("text/event-stream", HttpStatusCode.NotAcceptable)]
    [InlineData(null, HttpStatusCode.NotAcceptable)]
    [InlineData("application/json, text/event-stream", HttpStatusCode.OK)]
    [InlineData("*/*", HttpStatusCode.OK)]
    public async Task Post_needs_an_accept_header_with_json_and_event_stream(string? accept, HttpStatusCode expected)
    {
        using var response = await host.PostAsync(McpTestHost.Initialize(), NewKey(), accept: accept);

        Assert.Equal(expected, response.StatusCode);
        if (expected != HttpStatusCode.OK)
        {
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(McpHttpHandler.ServerErrorCode, (await ErrorAsync(response)).GetProperty("code").GetInt32());
        }
    }

    [Theory]
    [InlineData("https://evil.example", HttpStatusCode.Forbidden)] // a page the operator did not allow (DNS rebinding)
    [InlineData("null", HttpStatusCode.Forbidden)]
    [InlineData(StatefulMcpHost.AllowedOrigin, HttpStatusCode.OK)]
    public async Task A_browser_request_is_served_only_from_an_allowed_origin(string origin, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, host.Endpoint) { Content = new StringContent(McpTestHost.Initialize(), System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("Origin", origin);

        using var response = await host.SendAsync(request, NewKey());

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.Forbidden)
        {
            Assert.Contains("Mcp:AllowedOrigins", (await ErrorAsync(response)).GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Post_needs_a_json_body()
    {
        using var response = await host.PostAsync(McpTestHost.Initialize(), NewKey(), contentType: "text/plain");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("application/json", (await ErrorAsync(response)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json", -32700)]
    [InlineData("", -32600)]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"method":"ping"}]""", -32600)]
    [InlineData("""{"hello":"world"}""", -32600)]
    public async Task A_body_that_is_not_one_json_rpc_message_is_a_400_json_rpc_error(string body, int code)
    {
        using var response = await host.PostAsync(body, NewKey());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Equal(code, error.GetProperty("code").GetInt32());
        Assert.DoesNotContain("   at ", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_a_413_whether_declared_or_chunked()
    {
        var big = $$$"""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"{{{new string('x', StatefulMcpHost.BodyLimit)}}}"}}""";
        var key = NewKey();

        using var declared = await host.PostAsync(big, key);
        using var chunkedRequest = new HttpRequestMessage(HttpMethod.Post, host.Endpoint)
        {
            Content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(big))),
        };
        chunkedRequest.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        chunkedRequest.Headers.TransferEncodingChunked = true;
        using var chunked = await host.SendAsync(chunkedRequest, key);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunked.StatusCode);
        Assert.Contains("Content Too Large", (await ErrorAsync(chunked)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_without_a_session_that_is_not_initialize_is_a_400()
    {
        using var response = await host.PostAsync(McpTestHost.ToolsList(3), NewKey());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, body.GetProperty("id").GetInt32());
        Assert.Contains(McpHttpHandler.SessionIdHeader, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unsupported_protocol_version_is_a_400_listing_the_supported_ones()
    {
        using var response = await host.PostAsync(
            """{"jsonrpc":"2.0","id":9,"method":"server/discover","params":{}}""", NewKey(), protocolVersion: "2026-07-28");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Equal((int)McpErrorCode.UnsupportedProtocolVersion, error.GetProperty("code").GetInt32());
        Assert.Contains("2025-06-18", error.GetProperty("data").GetProperty("supported").EnumerateArray().Select(v => v.GetString()));
    }

    [Fact]
    public async Task Without_a_key_it_is_401_and_without_chat_use_403()
    {
        var readOnly = host.Keys.NewKey([Permissions.MonitoringRead]).Key;

        using var anonymous = await host.PostAsync(McpTestHost.Initialize(), apiKey: null);
        using var forbidden = await host.PostAsync(McpTestHost.Initialize(), readOnly);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }

    private async Task<string> InitializeAsync(string key)
    {
        using var response = await host.PostAsync(McpTestHost.Initialize(), key);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var data = SseData(await response.Content.ReadAsStringAsync());
        Assert.Equal("2025-06-18", data.GetProperty("result").GetProperty("protocolVersion").GetString());
        return response.Headers.GetValues(McpHttpHandler.SessionIdHeader).Single();
    }

    /// <summary>The JSON of the last <c>data:</c> line of an SSE body.</summary>
    internal static JsonElement SseData(string body) =>
        JsonDocument.Parse(body.Split('\n').Last(line => line.StartsWith("data:", StringComparison.Ordinal))["data:".Length..]).RootElement.Clone();

    internal static async Task<JsonElement> ErrorAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
}
