using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using SmartHub.IntegrationTests.Hosting;

namespace SmartHub.IntegrationTests.Mcp;

/// <summary>
/// MCP at /mcp through the gateway of the running graph, with the official C# client: the tools against the real
/// CoreService and chat pipeline, authentication and permissions at the edge, and sessions that belong to their user.
/// </summary>
[Collection(GraphCollection.Name)]
public sealed class McpTests(GraphFixture graph)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private Uri Endpoint => new(graph.Gateway.BaseAddress!, "/mcp");

    private async Task<McpClient> ConnectAsync(string? apiKey = null, string? bearer = null, string? protocolVersion = "2025-06-18")
    {
        var headers = new Dictionary<string, string>();
        if (apiKey is not null)
        {
            headers["X-API-Key"] = apiKey;
        }

        if (bearer is not null)
        {
            headers["Authorization"] = "Bearer " + bearer;
        }

        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = Endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = headers,
        });
        var options = new McpClientOptions();
        if (protocolVersion is not null)
        {
            options.ProtocolVersion = protocolVersion;
        }

        return await McpClient.CreateAsync(transport, options).WaitAsync(s_timeout);
    }

    private async Task<(TestUser User, string Key)> NewCallerAsync()
    {
        var user = await graph.NewUserAsync();
        var (_, key) = await graph.NewApiKeyAsync(user);
        return (user, key);
    }

    private static string Text(CallToolResult result) => Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;

    [Fact]
    public async Task The_client_connects_through_the_gateway_and_lists_the_tools()
    {
        var (_, key) = await NewCallerAsync();
        // The SDK's default: it probes server/discover (draft 2026-07-28), gets 400 and falls back to initialize.
        await using var client = await ConnectAsync(key, protocolVersion: null);

        var tools = await client.ListToolsAsync().AsTask().WaitAsync(s_timeout);

        Assert.False(string.IsNullOrEmpty(client.SessionId));
        Assert.Equal(["chat", "get_balance", "get_usage", "list_models"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.All(tools, tool => Assert.False(string.IsNullOrWhiteSpace(tool.Description)));
    }

    [Fact]
    public async Task List_models_includes_the_mock_models()
    {
        var (_, key) = await NewCallerAsync();
        await using var client = await ConnectAsync(key);

        var result = await client.CallToolAsync("list_models").AsTask().WaitAsync(s_timeout);

        Assert.NotEqual(true, result.IsError);
        var ids = result.StructuredContent!.Value.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains("mock-fast", ids);
        Assert.Contains("mock-smart", ids);
    }

    [Fact]
    public async Task Get_balance_returns_the_new_users_signup_grant()
    {
        var (_, key) = await NewCallerAsync();
        await using var client = await ConnectAsync(key);

        var result = await client.CallToolAsync("get_balance").AsTask().WaitAsync(s_timeout);

        Assert.NotEqual(true, result.IsError);
        var balance = result.StructuredContent!.Value;
        Assert.Equal(1000, balance.GetProperty("balance").GetInt64());
        Assert.Equal(1000, balance.GetProperty("available").GetInt64());
        Assert.Equal("credits", balance.GetProperty("currency").GetString());
    }

    [Fact]
    public async Task Get_usage_returns_the_callers_report_and_relays_refusals()
    {
        var (_, key) = await NewCallerAsync();
        await using var client = await ConnectAsync(key);
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

        var report = await client.CallToolAsync("get_usage", new Dictionary<string, object?> { ["from"] = today, ["to"] = today, ["group_by"] = "model" })
            .AsTask().WaitAsync(s_timeout);
        var refused = await client.CallToolAsync("get_usage", new Dictionary<string, object?> { ["from"] = "yesterday" })
            .AsTask().WaitAsync(s_timeout);

        Assert.NotEqual(true, report.IsError);
        Assert.Equal(0, report.StructuredContent!.Value.GetProperty("totals").GetProperty("requests").GetInt64());
        Assert.True(refused.IsError);
        Assert.Contains("HTTP 400", Text(refused), StringComparison.Ordinal);
    }

    /// <summary>Needs the chat pipeline (IChatService) from main.</summary>
    [Fact]
    public async Task Chat_with_mock_fast_returns_the_answer_and_what_it_cost()
    {
        var (_, key) = await NewCallerAsync();
        await using var client = await ConnectAsync(key);

        var result = await client.CallToolAsync("chat", new Dictionary<string, object?> { ["model"] = "mock-fast", ["prompt"] = "Say hello" })
            .AsTask().WaitAsync(s_timeout);

        Assert.True(result.IsError != true, Text(result));
        Assert.False(string.IsNullOrWhiteSpace(Text(result)));
        var usage = result.StructuredContent!.Value;
        Assert.True(usage.GetProperty("prompt_tokens").GetInt32() > 0);
        Assert.True(usage.GetProperty("completion_tokens").GetInt32() > 0);
        var credits = usage.GetProperty("credits").GetInt64();
        Assert.True(credits > 0);
        Assert.StartsWith("mock", usage.GetProperty("provider").GetString(), StringComparison.Ordinal);
        // The charge lands when the user's credit lease settles (within about a second).
        await Poll.UntilAsync(
            async () => (await client.CallToolAsync("get_balance").AsTask().WaitAsync(s_timeout)).StructuredContent!.Value.GetProperty("balance").GetInt64() == 1000 - credits,
            TimeSpan.FromSeconds(10),
            "the balance shows the charge");
    }

    [Fact]
    public async Task A_signed_in_session_works_like_an_api_key()
    {
        var user = await graph.NewUserAsync();
        await using var client = await ConnectAsync(bearer: user.Tokens.AccessToken);

        var result = await client.CallToolAsync("get_balance").AsTask().WaitAsync(s_timeout);

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(1000, result.StructuredContent!.Value.GetProperty("available").GetInt64());
    }

    [Fact]
    public async Task Without_credentials_it_is_401()
    {
        using var response = await PostAsync(Initialize, apiKey: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task A_key_without_chat_use_is_403()
    {
        var manager = await graph.NewUserAsync("manager");
        var (_, key) = await graph.NewApiKeyAsync(manager, scopes: ["monitoring:read"]);

        using var response = await PostAsync(Initialize, key);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task User_b_cannot_use_user_as_session()
    {
        var (_, alice) = await NewCallerAsync();
        var (_, bob) = await NewCallerAsync();
        await using var client = await ConnectAsync(alice);

        using var stolen = await PostAsync(ToolsList, bob, client.SessionId);
        using var own = await PostAsync(ToolsList, alice, client.SessionId, replica: 2);

        Assert.Equal(HttpStatusCode.NotFound, stolen.StatusCode);
        var error = (await stolen.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal(-32001, error.GetProperty("code").GetInt32());
        // The owner still has it, through the other gateway replica too.
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Contains("get_balance", await own.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""";

    private const string ToolsList = """{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}""";

    private async Task<HttpResponseMessage> PostAsync(string body, string? apiKey, string? sessionId = null, int replica = 1)
    {
        using var client = graph.Client(apiKey: apiKey, replica: replica);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp")
        {
            Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.TryAddWithoutValidation("Accept", "application/json, text/event-stream");
        if (sessionId is not null)
        {
            request.Headers.Add("Mcp-Session-Id", sessionId);
        }

        var response = await client.SendAsync(request).WaitAsync(s_timeout);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }
}
