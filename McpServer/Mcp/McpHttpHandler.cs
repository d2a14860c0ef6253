using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using SmartHub.ServiceDefaults.Authentication;
using SdkMcpServer = ModelContextProtocol.Server.McpServer;

namespace SmartHub.McpServer.Mcp;

/// <summary>
/// MCP's Streamable HTTP transport (specification 2025-06-18, also 2025-03-26) on top of the SDK's
/// <see cref="StreamableHttpServerTransport"/>, as ModelContextProtocol.AspNetCore would host it (that package is not
/// available here). POST carries one JSON-RPC message: a request is answered as an SSE stream (the response, preceded
/// by any notifications about it), a notification or a response with 202. GET opens the session's stream of
/// server-initiated messages; DELETE ends the session. Protocol errors are JSON-RPC error objects with the HTTP status
/// the specification asks for; nothing here answers with a stack trace.
/// </summary>
internal sealed class McpHttpHandler(
    McpSessionStore sessions,
    McpServerOptionsSet serverOptions,
    IOptions<McpOptions> options,
    IServiceProvider services,
    ILoggerFactory loggerFactory,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime,
    ILogger<McpHttpHandler> logger)
{
    public const string SessionIdHeader = "Mcp-Session-Id";
    public const string ProtocolVersionHeader = "MCP-Protocol-Version";

    /// <summary>JSON-RPC's "server error" range, which the SDKs use for transport errors.</summary>
    public const int ServerErrorCode = -32000;

    /// <summary>What the TypeScript and C# SDKs answer for an unknown session (not part of the specification).</summary>
    public const int SessionNotFoundCode = -32001;

    /// <summary>
    /// The revisions with the initialize handshake and sessions. A request declaring another one (the SDK's clients
    /// probe <c>server/discover</c> with the draft 2026-07-28) gets 400 with this list, and the client falls back to
    /// initialize.
    /// </summary>
    public static readonly IReadOnlyList<string> ProtocolVersions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

    private static readonly JsonTypeInfo<JsonRpcMessage> s_messageType = (JsonTypeInfo<JsonRpcMessage>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(JsonRpcMessage));
    private static readonly JsonTypeInfo<JsonRpcError> s_errorType = (JsonTypeInfo<JsonRpcError>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(JsonRpcError));
    private static readonly MediaTypeHeaderValue s_json = new("application/json");
    private static readonly MediaTypeHeaderValue s_eventStream = new("text/event-stream");

    private readonly McpOptions _options = options.Value;

    public Task PostAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Guard(context, PostCoreAsync);
    }

    public Task GetAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Guard(context, GetCoreAsync);
    }

    public Task DeleteAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Guard(context, DeleteCoreAsync);
    }

    private async Task PostCoreAsync(HttpContext context)
    {
        if (!Accepts(context.Request, s_json) || !Accepts(context.Request, s_eventStream))
        {
            await WriteErrorAsync(context, StatusCodes.Status406NotAcceptable, ServerErrorCode,
                "Not Acceptable: the client must accept both application/json and text/event-stream.");
            return;
        }

        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            await WriteErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, ServerErrorCode,
                "Unsupported Media Type: the body must be one JSON-RPC message with Content-Type: application/json.");
            return;
        }

        var body = await ReadBodyAsync(context);
        if (body is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status413PayloadTooLarge, ServerErrorCode,
                $"Content Too Large: the body is larger than the {_options.MaxRequestBodyBytes} bytes allowed.");
            return;
        }

        if (!TryParse(body, out var message, out var parseError))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, parseError.Code, parseError.Message);
            return;
        }

        var requestId = message is JsonRpcRequest request ? request.Id : default;
        var protocolVersion = context.Request.Headers[ProtocolVersionHeader].ToString();
        if (protocolVersion.Length > 0 && !ProtocolVersions.Contains(protocolVersion, StringComparer.Ordinal))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, (int)McpErrorCode.UnsupportedProtocolVersion,
                $"Bad Request: protocol version '{Truncate(protocolVersion)}' is not supported; use one of {string.Join(", ", ProtocolVersions)} with initialize.",
                requestId,
                JsonSerializer.SerializeToNode(
                    new UnsupportedProtocolVersionErrorData { Supported = [.. ProtocolVersions], Requested = Truncate(protocolVersion) },
                    McpJsonUtilities.DefaultOptions));
            return;
        }

        message.Context = new JsonRpcMessageContext
        {
            User = context.User,
            ProtocolVersion = protocolVersion.Length > 0 ? protocolVersion : null,
            Items = new Dictionary<string, object?>
            {
                [McpCaller.ItemKey] = new McpCaller(
                    context.User,
                    context.Request.Headers.Authorization.ToString() is { Length: > 0 } authorization ? authorization : null,
                    context.Request.Headers[SmartHubAuth.ApiKeyHeader].ToString() is { Length: > 0 } apiKey ? apiKey : null,
                    context.RequestAborted),
            },
        };

        if (_options.Stateless)
        {
            await PostStatelessAsync(context, message, requestId);
            return;
        }

        var sessionId = context.Request.Headers[SessionIdHeader].ToString();
        McpSession? session;
        if (sessionId.Length == 0)
        {
            if (message is not JsonRpcRequest { Method: RequestMethods.Initialize })
            {
                await WriteErrorAsync(context, StatusCodes.Status400BadRequest, ServerErrorCode,
                    $"Bad Request: the {SessionIdHeader} header is required (a session starts with an initialize request).", requestId);
                return;
            }

            session = await OpenSessionAsync(context, requestId);
            if (session is null)
            {
                return;
            }
        }
        else if (sessions.Find(sessionId, context.User.UserId()) is not { } found)
        {
            await WriteSessionNotFoundAsync(context, requestId);
            return;
        }
        else
        {
            session = found;
        }

        if (!session.TryAcquire(timeProvider.GetUtcNow()))
        {
            await WriteSessionNotFoundAsync(context, requestId);
            return;
        }

        try
        {
            context.Response.Headers[SessionIdHeader] = session.Id;
            await ServeAsync(context, session.Transport, message);
        }
        catch (Exception ex) when (session.IsClosed && ex is ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // Closed while the request ran (DELETE, idle timeout, shutdown).
            if (!context.Response.HasStarted)
            {
                await WriteSessionNotFoundAsync(context, requestId);
            }
        }
        finally
        {
            session.Release(timeProvider.GetUtcNow());
        }
    }

    private async Task<McpSession?> OpenSessionAsync(HttpContext context, RequestId requestId)
    {
        var owner = context.User.UserId();
        if (owner == Guid.Empty)
        {
            await WriteErrorAsync(context, StatusCodes.Status403Forbidden, ServerErrorCode, "Forbidden: sessions belong to users; this identity names none.", requestId);
            return null;
        }

        var id = McpSessionStore.NewSessionId();
        var transport = new StreamableHttpServerTransport(loggerFactory)
        {
            SessionId = id,
            // Tool calls then run in the execution context of the POST that carried them: its trace, correlation id
            // and log scope.
            FlowExecutionContextFromRequests = true,
        };

        // Application services, not the request's: the session outlives this request (each request gets a scope).
        var server = SdkMcpServer.Create(transport, serverOptions.Stateful, loggerFactory, services);
        var running = server.RunAsync(lifetime.ApplicationStopping);
        var session = new McpSession(id, owner, transport, server, running, timeProvider.GetUtcNow());

        var admission = sessions.Admit(session, out var closed);
        foreach (var old in closed)
        {
            await sessions.DisposeQuietlyAsync(old);
        }

        if (admission != McpAdmission.Admitted)
        {
            await sessions.DisposeQuietlyAsync(session);
            var retryAfter = (int)Math.Ceiling(McpSessionReaper.SweepPeriod(_options.IdleTimeout).TotalSeconds);
            context.Response.Headers.RetryAfter = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
            logger.LogWarning("MCP session refused for user {UserId}: {Reason} ({Count} sessions held).", owner, admission, sessions.Count);
            await (admission == McpAdmission.UserLimit
                ? WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, ServerErrorCode,
                    $"Too Many Requests: you have {_options.MaxSessionsPerUser} MCP sessions in use; end one (DELETE /mcp) or retry later.", requestId)
                : WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ServerErrorCode,
                    "Service Unavailable: this server holds as many MCP sessions as it may; retry later.", requestId));
            return null;
        }

        logger.LogInformation("MCP session {SessionId} opened by user {UserId}.", id, owner);
        return session;
    }

    private async Task PostStatelessAsync(HttpContext context, JsonRpcMessage message, RequestId requestId)
    {
        if (context.Request.Headers.ContainsKey(SessionIdHeader))
        {
            // Issued before the switch to stateless mode: the client starts again (initialize) and gets no session id.
            await WriteSessionNotFoundAsync(context, requestId);
            return;
        }

        var transport = new StreamableHttpServerTransport(loggerFactory) { Stateless = true };
        var server = SdkMcpServer.Create(transport, serverOptions.Stateless, loggerFactory, context.RequestServices);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var running = server.RunAsync(stop.Token);
        try
        {
            await ServeAsync(context, transport, message);
        }
        finally
        {
            await transport.DisposeAsync();
            await stop.CancelAsync();
            try
            {
                await running;
            }
            catch (OperationCanceledException)
            {
                // The message loop ends by cancellation once the response is written.
            }

            await server.DisposeAsync();
        }
    }

    /// <summary>Hands one message to the transport; a request's answer is streamed back as SSE, anything else is a 202.</summary>
    private async Task ServeAsync(HttpContext context, StreamableHttpServerTransport transport, JsonRpcMessage message)
    {
        StartEventStream(context);
        await using var body = new SseKeepAliveStream(context.Response.Body, _options.KeepAliveInterval, timeProvider);
        var wrote = await transport.HandlePostRequestAsync(message, body, context.RequestAborted);
        if (!wrote && !context.Response.HasStarted)
        {
            context.Response.Headers.ContentType = default;
            context.Response.Headers.CacheControl = default;
            context.Response.Headers.ContentEncoding = default;
            context.Response.StatusCode = StatusCodes.Status202Accepted;
        }
    }

    private async Task GetCoreAsync(HttpContext context)
    {
        if (_options.Stateless)
        {
            context.Response.Headers.Allow = HttpMethods.Post;
            await WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, ServerErrorCode,
                "Method Not Allowed: this server is stateless and sends no messages outside the answers to POST requests.");
            return;
        }

        if (!Accepts(context.Request, s_eventStream))
        {
            await WriteErrorAsync(context, StatusCodes.Status406NotAcceptable, ServerErrorCode, "Not Acceptable: the client must accept text/event-stream.");
            return;
        }

        if (await FindSessionAsync(context) is not { } session)
        {
            return;
        }

        if (!session.TryOpenStream())
        {
            await WriteErrorAsync(context, StatusCodes.Status409Conflict, ServerErrorCode,
                "Conflict: this session's GET stream is open already; a session has one.");
            return;
        }

        try
        {
            if (!session.TryAcquire(timeProvider.GetUtcNow()))
            {
                await WriteSessionNotFoundAsync(context, default);
                return;
            }

            try
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
                context.Response.Headers[SessionIdHeader] = session.Id;
                StartEventStream(context);
                await using var body = new SseKeepAliveStream(context.Response.Body, _options.KeepAliveInterval, timeProvider);

                // The headers go now: server messages may be a long time coming.
                await context.Response.StartAsync(stop.Token);
                await session.Transport.HandleGetRequestAsync(body, stop.Token);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested || lifetime.ApplicationStopping.IsCancellationRequested)
            {
                // The client closed the stream, or the server is stopping: how SSE streams end.
            }
            finally
            {
                session.Release(timeProvider.GetUtcNow());
            }
        }
        finally
        {
            session.CloseStream();
        }
    }

    private async Task DeleteCoreAsync(HttpContext context)
    {
        if (_options.Stateless)
        {
            context.Response.Headers.Allow = HttpMethods.Post;
            await WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, ServerErrorCode, "Method Not Allowed: this server is stateless and has no sessions to end.");
            return;
        }

        if (await FindSessionAsync(context) is not { } session)
        {
            return;
        }

        sessions.Remove(session);
        await sessions.DisposeQuietlyAsync(session);
        logger.LogInformation("MCP session {SessionId} ended by user {UserId}.", session.Id, session.OwnerId);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>The caller's session named by the header; otherwise the 400 (no header) or 404 (unknown) is written.</summary>
    private async Task<McpSession?> FindSessionAsync(HttpContext context)
    {
        var sessionId = context.Request.Headers[SessionIdHeader].ToString();
        if (sessionId.Length == 0)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, ServerErrorCode, $"Bad Request: the {SessionIdHeader} header is required.");
            return null;
        }

        if (sessions.Find(sessionId, context.User.UserId()) is not { } session)
        {
            await WriteSessionNotFoundAsync(context, default);
            return null;
        }

        return session;
    }

    /// <summary>
    /// Runs a handler; an exception it did not expect becomes a JSON-RPC internal error without details (or, once the
    /// SSE answer has started, an aborted response), and a client that went away ends the request quietly.
    /// </summary>
    private async Task Guard(HttpContext context, Func<HttpContext, Task> handler)
    {
        try
        {
            // The specification's defence against DNS rebinding: a browser's request (it carries Origin) is served only
            // from an origin the operator allowed. MCP clients outside a browser send no Origin.
            if (context.Request.Headers.Origin is [{ } origin, ..] && !_options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
            {
                await WriteErrorAsync(context, StatusCodes.Status403Forbidden, ServerErrorCode,
                    $"Forbidden: origin '{origin}' is not allowed (Mcp:AllowedOrigins).");
                return;
            }

            await handler(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            // A body that broke off or grew past the limit while being read.
            await WriteErrorAsync(context, ex.StatusCode, ServerErrorCode,
                ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? $"Content Too Large: the body is larger than the {_options.MaxRequestBodyBytes} bytes allowed."
                    : "Bad Request: the body could not be read.");
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "MCP {Method} failed.", context.Request.Method);
            if (context.Response.HasStarted)
            {
                context.Abort();
                return;
            }

            context.Response.Clear();
            await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, (int)McpErrorCode.InternalError,
                "Internal error: the server could not process the message.");
        }
    }

    /// <summary>The body, or null when it is larger than the limit (the declared length or the bytes actually sent).</summary>
    private async Task<byte[]?> ReadBodyAsync(HttpContext context)
    {
        var limit = _options.MaxRequestBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            return null;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        using var buffer = new MemoryStream((int)Math.Min(context.Request.ContentLength ?? 4096, limit));
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    /// <summary>One JSON-RPC message, or the JSON-RPC error for a body that is none (-32700 parse error, -32600 invalid request).</summary>
    internal static bool TryParse(
        ReadOnlySpan<byte> body,
        [NotNullWhen(true)] out JsonRpcMessage? message,
        [NotNullWhen(false)] out JsonRpcErrorDetail? error)
    {
        message = null;
        error = null;
        var start = body.IndexOfAnyExcept(" \t\r\n"u8);
        if (start < 0)
        {
            error = new JsonRpcErrorDetail { Code = (int)McpErrorCode.InvalidRequest, Message = "Invalid Request: the body is empty." };
            return false;
        }

        if (body[start] == (byte)'[')
        {
            error = new JsonRpcErrorDetail
            {
                Code = (int)McpErrorCode.InvalidRequest,
                Message = "Invalid Request: JSON-RPC batches are not supported (MCP 2025-06-18 removed them); send one message per POST.",
            };
            return false;
        }

        try
        {
            message = JsonSerializer.Deserialize(body, s_messageType);
        }
        catch (JsonException ex)
        {
            error = IsJson(body)
                ? new JsonRpcErrorDetail { Code = (int)McpErrorCode.InvalidRequest, Message = "Invalid Request: the body is JSON but not a JSON-RPC 2.0 message: " + ex.Message }
                : new JsonRpcErrorDetail { Code = (int)McpErrorCode.ParseError, Message = "Parse error: the body is not valid JSON: " + ex.Message };
            return false;
        }

        if (message is null)
        {
            error = new JsonRpcErrorDetail { Code = (int)McpErrorCode.InvalidRequest, Message = "Invalid Request: the body is not a JSON-RPC message." };
            return false;
        }

        return true;
    }

    private static bool IsJson(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        try
        {
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>True when the Accept header allows <paramref name="type"/> (itself, or type/* or */*, with a quality above 0).</summary>
    internal static bool Accepts(HttpRequest request, MediaTypeHeaderValue type)
    {
        foreach (var accepted in request.GetTypedHeaders().Accept)
        {
            if (accepted.Quality is not 0 && type.IsSubsetOf(accepted))
            {
                return true;
            }
        }

        return false;
    }

    private static void StartEventStream(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.Headers.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache, no-store";
        context.Response.Headers.ContentEncoding = "identity";
        // Proxies (nginx and others honouring it) must pass events through as they come.
        context.Response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    private static Task WriteSessionNotFoundAsync(HttpContext context, RequestId requestId) =>
        WriteErrorAsync(context, StatusCodes.Status404NotFound, SessionNotFoundCode,
            "Session not found: it ended, expired or never existed here; start a new one with initialize.", requestId);

    internal static Task WriteErrorAsync(HttpContext context, int status, int code, string message, RequestId requestId = default, JsonNode? data = null)
    {
        context.Response.StatusCode = status;
        var error = new JsonRpcError { Id = requestId, Error = new JsonRpcErrorDetail { Code = code, Message = message, Data = data } };
        return context.Response.WriteAsJsonAsync(
            error,
            s_errorType,
            contentType: "application/json",
            context.RequestAborted);
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40];
}

/// <summary>The server options of each mode, built once: the tools, the server's name and instructions.</summary>
internal sealed class McpServerOptionsSet
{
    public McpServerOptionsSet()
    {
        Stateful = Create(scopeRequests: true);
        Stateless = Create(scopeRequests: false);
    }

    /// <summary>Sessions run on the application's services, so each request gets its own scope.</summary>
    public McpServerOptions Stateful { get; }

    /// <summary>A stateless call runs on the HTTP request's services, which are scoped already.</summary>
    public McpServerOptions Stateless { get; }

    private static McpServerOptions Create(bool scopeRequests)
    {
        var tools = new McpServerPrimitiveCollection<McpServerTool>();
        foreach (var tool in McpTools.All)
        {
            tools.Add(tool);
        }

        return new McpServerOptions
        {
            ServerInfo = new Implementation
            {
                Name = "smarthub",
                Title = "SmartHub",
                Version = typeof(McpServerOptionsSet).Assembly.GetName().Version?.ToString(3) ?? "1.0.0",
            },
            ServerInstructions =
                "SmartHub is an AI gateway. Use list_models to see the models, chat to ask one (it costs credits), " +
                "get_balance for the credits left and get_usage for what was used.",
            ToolCollection = tools,
            ScopeRequests = scopeRequests,
        };
    }
}
