using ModelContextProtocol.Protocol;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.McpServer.Mcp;

/// <summary>
/// The MCP endpoint, <c>/mcp</c> (Streamable HTTP): POST a JSON-RPC message, GET the session's server-message stream,
/// DELETE to end the session. Callers authenticate like on /v1 (API key or JWT) and need <c>chat:use</c>.
/// </summary>
internal static class McpEndpoint
{
    public const string Path = "/mcp";

    public static IEndpointRouteBuilder MapMcp(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var mcp = app.MapGroup(Path).WithTags("MCP").RequirePermission(Permissions.ChatUse);

        // No Accepts() metadata: routing would answer a wrong Content-Type with its own 415, not the JSON-RPC error.
        mcp.MapPost("", PostAsync)
            .WithName("McpPost")
            .WithSummary("One JSON-RPC message to the MCP server: a request is answered as an SSE stream, anything else with 202.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .Produces(StatusCodes.Status202Accepted)
            .Produces<JsonRpcError>(StatusCodes.Status400BadRequest)
            .Produces<JsonRpcError>(StatusCodes.Status404NotFound)
            .Produces<JsonRpcError>(StatusCodes.Status406NotAcceptable)
            .Produces<JsonRpcError>(StatusCodes.Status413PayloadTooLarge)
            .Produces<JsonRpcError>(StatusCodes.Status415UnsupportedMediaType);

        mcp.MapGet("", GetAsync)
            .WithName("McpGet")
            .WithSummary("The session's stream of server-initiated messages (SSE); 405 in stateless mode.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .Produces<JsonRpcError>(StatusCodes.Status404NotFound)
            .Produces<JsonRpcError>(StatusCodes.Status405MethodNotAllowed);

        mcp.MapDelete("", DeleteAsync)
            .WithName("McpDelete")
            .WithSummary("Ends the session named by Mcp-Session-Id; 405 in stateless mode.")
            .Produces(StatusCodes.Status204NoContent)
            .Produces<JsonRpcError>(StatusCodes.Status404NotFound)
            .Produces<JsonRpcError>(StatusCodes.Status405MethodNotAllowed);

        return app;
    }

    public static Task PostAsync(HttpContext context, McpHttpHandler handler) => handler.PostAsync(context);

    public static Task GetAsync(HttpContext context, McpHttpHandler handler) => handler.GetAsync(context);

    public static Task DeleteAsync(HttpContext context, McpHttpHandler handler) => handler.DeleteAsync(context);
}
