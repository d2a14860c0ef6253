using System.Net;
using ModelContextProtocol.Protocol;
using SmartHub.McpServer.Mcp;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.UnitTests.Mcp;

/// <summary>/mcp with Mcp:Stateless=true: every POST on its own, no session id, no GET stream, nothing held.</summary>
public sealed class McpStatelessEndpointTests(StatelessMcpHost host) : IClassFixture<StatelessMcpHost>
{
    private static readonly string[] s_chatUse = [Permissions.ChatUse];

    [Fact]
    public async Task The_client_works_without_a_session()
    {
        var (userId, key) = host.Keys.NewKey(s_chatUse);
        await using var client = await host.ConnectAsync(key);

        var tools = await client.ListToolsAsync();
        var chat = await client.CallToolAsync(McpTools.Chat, new Dictionary<string, object?> { ["model"] = "mock-fast", ["prompt"] = "stateless " + userId });
        var balance = await client.CallToolAsync(McpTools.GetBalance);

        Assert.Null(client.SessionId);
        Assert.Equal(4, tools.Count);
        Assert.Equal("echo: stateless " + userId, Assert.IsType<TextContentBlock>(Assert.Single(chat.Content)).Text);
        Assert.Equal(userId, balance.StructuredContent!.Value.GetProperty("userId").GetGuid());
        Assert.Equal(0, host.Sessions.Count);
    }

    [Fact]
    public async Task Each_post_is_served_alone_even_without_initialize()
    {
        var key = host.Keys.NewKey(s_chatUse).Key;

        using var initialize = await host.PostAsync(McpTestHost.Initialize(), key);
        using var list = await host.PostAsync(McpTestHost.ToolsList(5), key);

        Assert.Equal(HttpStatusCode.OK, initialize.StatusCode);
        Assert.False(initialize.Headers.Contains(McpHttpHandler.SessionIdHeader));
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var data = McpEndpointTests.SseData(await list.Content.ReadAsStringAsync());
        Assert.Equal(5, data.GetProperty("id").GetInt32());
        Assert.Equal(4, data.GetProperty("result").GetProperty("tools").GetArrayLength());
    }

    [Fact]
    public async Task Get_and_delete_answer_405()
    {
        var key = host.Keys.NewKey(s_chatUse).Key;

        using var get = await host.SendAsync(new HttpRequestMessage(HttpMethod.Get, host.Endpoint), key, accept: "text/event-stream");
        using var delete = await host.SendAsync(new HttpRequestMessage(HttpMethod.Delete, host.Endpoint), key, sessionId: "anything");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, delete.StatusCode);
        Assert.Equal("POST", get.Content.Headers.Allow.Single());
    }

    [Fact]
    public async Task A_session_id_from_before_the_switch_is_a_404_so_the_client_starts_again()
    {
        using var response = await host.PostAsync(McpTestHost.ToolsList(), host.Keys.NewKey(s_chatUse).Key, sessionId: "old-session");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
