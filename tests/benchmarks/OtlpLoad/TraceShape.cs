using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace SmartHub.Benchmarks.OtlpLoad;

/// <summary>
/// One request as the hub's services record it, five spans across three resources: the gateway's server span (the
/// semantic-convention attributes ASP.NET Core and the enricher set, an id in <c>url.path</c>) and its call to McpServer,
/// McpServer's server span and its call to CoreService, CoreService's PostgreSQL query (<c>db.query.text</c> of ~200
/// characters); and one log record of CoreService inside the trace. One request in a hundred fails (500).
/// </summary>
internal sealed partial class TraceShape(ActivitySource gateway, ActivitySource mcp, ActivitySource core, ILogger coreLog)
{
    public const int SpansPerTrace = 5;
    public const int LogsPerTrace = 1;

    private const string Query =
        "SELECT m.id, m.role, m.content, m.tokens, m.created_at FROM conversation_messages AS m " +
        "JOIN conversations AS c ON c.id = m.conversation_id WHERE c.id = $1 AND c.user_id = $2 " +
        "ORDER BY m.created_at DESC LIMIT $3";

    private const string UserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

    public void Emit(int index)
    {
        var conversation = Guid.NewGuid().ToString("N");
        var user = $"user-{index % 1_000:D4}";
        var failed = index % 100 == 99;
        var status = failed ? 500 : 200;
        // Durations of a few to tens of milliseconds, varying from trace to trace.
        var start = DateTime.UtcNow;
        var total = TimeSpan.FromMilliseconds(12 + index % 37);

        // A new request: no span of the previous one is current.
        Activity.Current = null;
        using var server = gateway.StartActivity("GET /api/v1/conversations/{conversationId}/messages", ActivityKind.Server, default(ActivityContext), startTime: start)!;
        server.SetTag("http.request.method", "GET");
        server.SetTag("url.scheme", "http");
        server.SetTag("url.path", $"/api/v1/conversations/{conversation}/messages");
        server.SetTag("url.query", "?limit=50");
        server.SetTag("http.route", "/api/v1/conversations/{conversationId}/messages");
        server.SetTag("http.response.status_code", status);
        server.SetTag("server.address", "127.0.0.1");
        server.SetTag("server.port", 5080);
        server.SetTag("client.address", "127.0.0.1");
        server.SetTag("user_agent.original", UserAgent);
        server.SetTag("network.protocol.version", "1.1");
        server.SetTag("smarthub.user.id", user);

        using var call = gateway.StartActivity("GET", ActivityKind.Client, server.Context, startTime: start.AddMilliseconds(0.4))!;
        Client(call, $"http://127.0.0.1:5090/internal/conversations/{conversation}/messages?limit=50", 5090, status);

        using var mcpServer = mcp.StartActivity("GET /internal/conversations/{conversationId}/messages", ActivityKind.Server, call.Context, startTime: start.AddMilliseconds(0.7))!;
        mcpServer.SetTag("http.request.method", "GET");
        mcpServer.SetTag("url.scheme", "http");
        mcpServer.SetTag("url.path", $"/internal/conversations/{conversation}/messages");
        mcpServer.SetTag("http.route", "/internal/conversations/{conversationId}/messages");
        mcpServer.SetTag("http.response.status_code", status);
        mcpServer.SetTag("server.address", "127.0.0.1");
        mcpServer.SetTag("server.port", 5090);
        mcpServer.SetTag("network.protocol.version", "1.1");

        using var coreCall = mcp.StartActivity("GET", ActivityKind.Client, mcpServer.Context, startTime: start.AddMilliseconds(1.5))!;
        Client(coreCall, $"http://127.0.0.1:5070/internal/conversations/{conversation}?user={user}", 5070, status);

        using var query = core.StartActivity("SELECT coredb", ActivityKind.Client, coreCall.Context, startTime: start.AddMilliseconds(2.1))!;
        query.SetTag("db.system.name", "postgresql");
        query.SetTag("db.namespace", "coredb");
        query.SetTag("db.operation.name", "SELECT");
        query.SetTag("db.query.text", Query);
        query.SetTag("server.address", "127.0.0.1");
        query.SetTag("server.port", 5432);
        // Activity.Current is the query's span: the log record carries its trace and span id.
        MessagesRead(coreLog, 10 + index % 40, conversation, user);

        if (failed)
        {
            query.SetStatus(ActivityStatusCode.Error, "57014: canceling statement due to statement timeout");
            coreCall.SetStatus(ActivityStatusCode.Error);
            mcpServer.SetStatus(ActivityStatusCode.Error);
            call.SetStatus(ActivityStatusCode.Error);
            server.SetStatus(ActivityStatusCode.Error);
        }

        // Innermost first, each ending inside its parent; the exporter sends each span when it ends.
        query.SetEndTime(start + total * 0.6);
        query.Stop();
        coreCall.SetEndTime(start + total * 0.8);
        coreCall.Stop();
        mcpServer.SetEndTime(start + total * 0.85);
        mcpServer.Stop();
        call.SetEndTime(start + total * 0.9);
        call.Stop();
        server.SetEndTime(start + total);
        server.Stop();
    }

    private static void Client(Activity call, string url, int port, int status)
    {
        call.SetTag("http.request.method", "GET");
        call.SetTag("url.full", url);
        call.SetTag("server.address", "127.0.0.1");
        call.SetTag("server.port", port);
        call.SetTag("http.response.status_code", status);
        call.SetTag("network.protocol.version", "1.1");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Read {MessageCount} messages of conversation {ConversationId} for {UserId}")]
    private static partial void MessagesRead(ILogger logger, int messageCount, string conversationId, string userId);
}
