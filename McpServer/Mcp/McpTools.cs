using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using SmartHub.McpServer.Chat;
using SmartHub.McpServer.Providers;
using SmartHub.ServiceDefaults.Errors;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.McpServer.Mcp;

/// <summary>
/// Who called, as the HTTP request that carried the tool call established it. The endpoint puts it in the message's
/// context; the tools read it there, so in a session every call runs with that request's identity and credentials,
/// never with those of the request that opened the session.
/// </summary>
internal sealed record McpCaller(ClaimsPrincipal Principal, string? Authorization, string? ApiKey, CancellationToken RequestAborted)
{
    public const string ItemKey = "SmartHub.Mcp.Caller";

    public static McpCaller? From(MessageContext context) =>
        context?.JsonRpcMessage.Context?.Items is { } items && items.TryGetValue(ItemKey, out var value) ? value as McpCaller : null;
}

/// <summary>A tool with a hand-written schema, run with the caller, the request's services and a cancellation token.</summary>
internal sealed class McpTool(Tool tool, Func<McpToolCall, Task<CallToolResult>> invoke) : McpServerTool
{
    public override Tool ProtocolTool { get; } = tool;

    public override IReadOnlyList<object> Metadata { get; } = [];

    public override async ValueTask<CallToolResult> InvokeAsync(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var services = request.Services ?? throw new InvalidOperationException("MCP tools need the request's services.");
        if (McpCaller.From(request) is not { } caller)
        {
            return McpTools.Error("The call carries no caller identity.");
        }

        // The call ends when the client gives up on it: its HTTP request, or notifications/cancelled, or the session.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, caller.RequestAborted);
        using var activity = services.GetService<ServiceTelemetry>()?.ActivitySource.StartActivity("mcp.tool " + ProtocolTool.Name);
        activity?.SetTag("mcp.tool.name", ProtocolTool.Name);
        try
        {
            var result = await invoke(new McpToolCall(request.Params?.Arguments, caller, services, linked.Token));
            activity?.SetTag("mcp.tool.is_error", result.IsError == true);
            return result;
        }
        catch (McpToolArgumentException ex)
        {
            activity?.SetTag("mcp.tool.is_error", true);
            return McpTools.Error(ex.Message);
        }
    }
}

/// <summary>One tool call: its arguments, the caller, the services of the request, its cancellation.</summary>
internal sealed record McpToolCall(
    IDictionary<string, JsonElement>? Arguments,
    McpCaller Caller,
    IServiceProvider Services,
    CancellationToken CancellationToken);

/// <summary>
/// SmartHub's MCP tools: <c>chat</c> (a completion from a configured model, charged like /v1/chat/completions),
/// <c>list_models</c>, <c>get_balance</c> and <c>get_usage</c> (the caller's credits and usage, from CoreService).
/// Failures a caller can act on (no credits, an unknown model, a bad argument, a service down) are tool results with
/// <c>isError: true</c> and a sentence saying what happened, not protocol errors, so the model sees them.
/// </summary>
internal static class McpTools
{
    public const string Chat = "chat";
    public const string ListModels = "list_models";
    public const string GetBalance = "get_balance";
    public const string GetUsage = "get_usage";

    public const int MaxPromptLength = 1_000_000;

    private static readonly string[] s_roles = [ChatMessage.System, ChatMessage.Developer, ChatMessage.User, ChatMessage.Assistant];
    private static readonly string[] s_groupings = ["day", "model", "apiKey"];
    private static readonly string[] s_chatArguments = ["model", "prompt", "messages", "max_tokens", "temperature"];
    private static readonly string[] s_usageArguments = ["from", "to", "group_by"];

    public static IReadOnlyList<McpServerTool> All { get; } =
    [
        new McpTool(
            new Tool
            {
                Name = Chat,
                Title = "Chat with a model",
                Description =
                    "Sends a prompt (or a whole conversation) to one of SmartHub's models and returns the model's answer as text, " +
                    "with the tokens used and the credits charged as structured content. Costs credits: see get_balance. " +
                    "Use list_models for the model ids.",
                InputSchema = Schema("""
                    {
                      "type": "object",
                      "properties": {
                        "model": { "type": "string", "minLength": 1, "maxLength": 200, "description": "A model id from list_models, e.g. mock-fast." },
                        "prompt": { "type": "string", "minLength": 1, "description": "The user's message. Give either prompt or messages." },
                        "messages": {
                          "type": "array",
                          "minItems": 1,
                          "maxItems": 4096,
                          "description": "The conversation so far, oldest first. Give either prompt or messages.",
                          "items": {
                            "type": "object",
                            "properties": {
                              "role": { "type": "string", "enum": ["system", "developer", "user", "assistant"] },
                              "content": { "type": "string" }
                            },
                            "required": ["role", "content"],
                            "additionalProperties": false
                          }
                        },
                        "max_tokens": { "type": "integer", "minimum": 1, "maximum": 1000000, "description": "The most tokens the answer may have (default: the model's limit)." },
                        "temperature": { "type": "number", "minimum": 0, "maximum": 2, "description": "Sampling temperature, 0 to 2." }
                      },
                      "required": ["model"],
                      "additionalProperties": false
                    }
                    """),
                OutputSchema = Schema("""
                    {
                      "type": "object",
                      "properties": {
                        "model": { "type": "string" },
                        "provider": { "type": ["string", "null"] },
                        "finish_reason": { "type": "string" },
                        "prompt_tokens": { "type": "integer" },
                        "completion_tokens": { "type": "integer" },
                        "credits": { "type": "integer" },
                        "cache_hit": { "type": "boolean" }
                      },
                      "required": ["model", "finish_reason", "prompt_tokens", "completion_tokens", "credits", "cache_hit"]
                    }
                    """),
                Annotations = new ToolAnnotations { ReadOnlyHint = false, DestructiveHint = false, IdempotentHint = false, OpenWorldHint = true },
            },
            ChatAsync),
        new McpTool(
            new Tool
            {
                Name = ListModels,
                Title = "List models",
                Description = "Lists the models this SmartHub serves: each model's id (for chat) and the provider that serves it (owned_by).",
                InputSchema = Schema("""{ "type": "object", "properties": {}, "additionalProperties": false }"""),
                OutputSchema = Schema("""
                    {
                      "type": "object",
                      "properties": {
                        "models": {
                          "type": "array",
                          "items": {
                            "type": "object",
                            "properties": { "id": { "type": "string" }, "owned_by": { "type": "string" } },
                            "required": ["id", "owned_by"]
                          }
                        }
                      },
                      "required": ["models"]
                    }
                    """),
                Annotations = new ToolAnnotations { ReadOnlyHint = true, IdempotentHint = true, OpenWorldHint = false },
            },
            ListModelsAsync),
        new McpTool(
            new Tool
            {
                Name = GetBalance,
                Title = "Credit balance",
                Description =
                    "Returns the caller's credits: balance (owned), reserved (held by calls in progress), available " +
                    "(what a new call may use), and the monthly cap and what was spent this month.",
                InputSchema = Schema("""{ "type": "object", "properties": {}, "additionalProperties": false }"""),
                Annotations = new ToolAnnotations { ReadOnlyHint = true, IdempotentHint = true, OpenWorldHint = false },
            },
            GetBalanceAsync),
        new McpTool(
            new Tool
            {
                Name = GetUsage,
                Title = "Usage report",
                Description =
                    "Returns the caller's usage over a period: totals (requests, errors, cache hits, tokens, credits, latency) " +
                    "and items per day, per model or per API key. Defaults: the last 30 days, per day.",
                InputSchema = Schema("""
                    {
                      "type": "object",
                      "properties": {
                        "from": { "type": "string", "description": "Start: a date yyyy-MM-dd (UTC) or an RFC 3339 time with an offset." },
                        "to": { "type": "string", "description": "End: a date yyyy-MM-dd (included) or an RFC 3339 time (excluded)." },
                        "group_by": { "type": "string", "enum": ["day", "model", "apiKey"], "description": "How items are grouped (default day)." }
                      },
                      "additionalProperties": false
                    }
                    """),
                Annotations = new ToolAnnotations { ReadOnlyHint = true, IdempotentHint = true, OpenWorldHint = false },
            },
            GetUsageAsync),
    ];

    public static CallToolResult Error(string message) => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = message }],
    };

    /// <summary>A JSON object as structured content, with its text as the content block (for clients without structured content).</summary>
    public static CallToolResult Json(JsonElement value) => new()
    {
        Content = [new TextContentBlock { Text = value.GetRawText() }],
        StructuredContent = value,
    };

    internal static async Task<CallToolResult> ChatAsync(McpToolCall call)
    {
        var arguments = new McpToolArguments(call.Arguments, s_chatArguments);
        var model = arguments.RequiredString("model", ModelCatalog.MaxModelIdLength);
        var messages = ReadMessages(arguments);
        var maxTokens = arguments.OptionalInt("max_tokens", 1, 1_000_000);
        var temperature = arguments.OptionalNumber("temperature", 0, 2);

        var catalog = call.Services.GetService<ModelCatalog>();
        if (catalog is not null && !model.StartsWith("consensus:", StringComparison.Ordinal) && !catalog.TryGet(model, out _))
        {
            return Error($"Unknown model '{model}'. Available models: {string.Join(", ", catalog.Models.Select(m => m.Model))}.");
        }

        if (call.Services.GetService<IChatService>() is not { } chat)
        {
            return Error("Chat is not available on this server.");
        }

        var request = new ChatRequest(model, messages, Temperature: temperature, MaxTokens: maxTokens);
        ChatOutcome outcome;
        try
        {
            outcome = await chat.CompleteAsync(request, call.Caller.Principal, ChatOptions.Default, call.CancellationToken);
        }
        catch (DependencyUnavailableException ex)
        {
            return Error($"The chat cannot run right now: {ex.Message}");
        }

        if (!outcome.Succeeded)
        {
            return Error(DescribeFailure(model, outcome));
        }

        var completion = outcome.Completion!;
        var usage = JsonSerializer.SerializeToElement(
            new ChatToolUsage(
                model,
                outcome.Provider,
                completion.FinishReason,
                outcome.Usage.PromptTokens,
                outcome.Usage.CompletionTokens,
                outcome.Credits,
                outcome.CacheHit),
            McpJsonContext.Default.ChatToolUsage);
        return new CallToolResult
        {
            Content = [new TextContentBlock { Text = completion.Content ?? "" }],
            StructuredContent = usage,
        };
    }

    internal static Task<CallToolResult> ListModelsAsync(McpToolCall call)
    {
        _ = new McpToolArguments(call.Arguments, []);
        if (call.Services.GetService<ModelCatalog>() is not { } catalog)
        {
            return Task.FromResult(Error("No model catalog is configured on this server."));
        }

        var models = new McpModelList([.. catalog.Models.Select(m => new McpModelEntry(m.Model, m.Provider))]);
        return Task.FromResult(Json(JsonSerializer.SerializeToElement(models, McpJsonContext.Default.McpModelList)));
    }

    internal static async Task<CallToolResult> GetBalanceAsync(McpToolCall call)
    {
        _ = new McpToolArguments(call.Arguments, []);
        var answer = await call.Services.GetRequiredService<CoreApiClient>().GetAsync("/api/v1/credits/balance", call.Caller, call.CancellationToken);
        return answer.Body is { } body ? Json(body) : Error(answer.Error!);
    }

    internal static async Task<CallToolResult> GetUsageAsync(McpToolCall call)
    {
        var arguments = new McpToolArguments(call.Arguments, s_usageArguments);
        var query = new StringBuilder("/api/v1/usage");
        var separator = '?';
        foreach (var (argument, parameter, value) in new[]
        {
            ("from", "from", arguments.OptionalString("from", 64)),
            ("to", "to", arguments.OptionalString("to", 64)),
            ("group_by", "groupBy", arguments.OptionalChoice("group_by", s_groupings)),
        })
        {
            if (value is not null)
            {
                query.Append(separator).Append(parameter).Append('=').Append(Uri.EscapeDataString(value));
                separator = '&';
            }
        }

        var answer = await call.Services.GetRequiredService<CoreApiClient>().GetAsync(query.ToString(), call.Caller, call.CancellationToken);
        return answer.Body is { } body ? Json(body) : Error(answer.Error!);
    }

    /// <summary>Either <c>prompt</c> (one user message) or <c>messages</c> (role and content each), never both.</summary>
    internal static IReadOnlyList<ChatMessage> ReadMessages(McpToolArguments arguments)
    {
        var prompt = arguments.OptionalString("prompt", MaxPromptLength);
        var list = arguments.Get("messages");
        if ((prompt is null) == (list is null))
        {
            throw new McpToolArgumentException("Give either 'prompt' (a string) or 'messages' (an array of {role, content}), not both.");
        }

        if (prompt is not null)
        {
            return [new ChatMessage(ChatMessage.User, prompt)];
        }

        if (list!.Value.ValueKind != JsonValueKind.Array || list.Value.GetArrayLength() is 0 or > ChatRequestParser.MaxMessages)
        {
            throw new McpToolArgumentException($"Argument 'messages' must be an array of 1 to {ChatRequestParser.MaxMessages} {{role, content}} objects.");
        }

        var messages = new List<ChatMessage>(list.Value.GetArrayLength());
        var index = 0;
        foreach (var item in list.Value.EnumerateArray())
        {
            var where = string.Create(CultureInfo.InvariantCulture, $"messages[{index++}]");
            if (item.ValueKind != JsonValueKind.Object
                || !item.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                || !item.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
            {
                throw new McpToolArgumentException($"Argument '{where}' must be an object with string 'role' and 'content'.");
            }

            foreach (var property in item.EnumerateObject())
            {
                if (property.Name is not ("role" or "content"))
                {
                    throw new McpToolArgumentException($"Argument '{where}' has an unknown member '{property.Name}' (only role and content).");
                }
            }

            if (!s_roles.Contains(role.GetString(), StringComparer.Ordinal))
            {
                throw new McpToolArgumentException($"Argument '{where}.role' must be one of {string.Join(", ", s_roles)} (was '{role.GetString()}').");
            }

            messages.Add(new ChatMessage(role.GetString()!, content.GetString()));
        }

        return messages;
    }

    /// <summary>A failed chat as a sentence for the model: what went wrong, in the words of the chat pipeline.</summary>
    internal static string DescribeFailure(string model, ChatOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var said = outcome.Error?.Error.Message is { Length: > 0 } message ? message : "no details";
        var status = outcome.Status;
        var text = status switch
        {
            402 => $"Insufficient credits: {said} Check get_balance.",
            404 => $"Unknown model '{model}': {said} Use list_models for the model ids.",
            429 => $"Rate limited: {said}",
            400 or 422 => $"Invalid request: {said}",
            401 or 403 => $"Not allowed: {said}",
            >= 500 => $"The model is unavailable right now (HTTP {status}): {said}",
            _ => $"The chat failed (HTTP {status}): {said}",
        };

        return outcome.RetryAfter is { } retryAfter
            ? string.Create(CultureInfo.InvariantCulture, $"{text} Retry after {Math.Ceiling(retryAfter.TotalSeconds):0} s.")
            : text;
    }

    private static JsonElement Schema(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}

/// <summary>The chat tool's structured content: what the call used and cost.</summary>
internal sealed record ChatToolUsage(
    string Model,
    string? Provider,
    string FinishReason,
    int PromptTokens,
    int CompletionTokens,
    long Credits,
    bool CacheHit);

internal sealed record McpModelList(IReadOnlyList<McpModelEntry> Models);

internal sealed record McpModelEntry(string Id, string OwnedBy);
