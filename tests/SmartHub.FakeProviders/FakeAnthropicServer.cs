using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace SmartHub.FakeProviders;

/// <summary>
/// An Anthropic Messages API server: POST <c>{prefix}/messages</c>, GET <c>{prefix}/models</c>. It checks what the
/// real API checks and a translation can get wrong: the key (<c>x-api-key</c>, or
/// <see cref="FakeServerOptions.ApiKeyHeader"/>), the <c>anthropic-version</c> header, <c>max_tokens</c>, roles
/// (only user and assistant; system is top-level), temperature in 0-1, tools with an <c>input_schema</c>, and every
/// <c>tool_result</c> answering a <c>tool_use</c> of the message before. Answers are <c>message</c> objects, or the
/// event stream as Anthropic sends it: message_start, content_block_start, ping, content_block_delta (text_delta /
/// input_json_delta) ..., content_block_stop, message_delta (stop_reason, usage.output_tokens), message_stop. Errors
/// are <c>{"type": "error", "error": {"type", "message"}}</c>; 529 is overloaded_error.
/// </summary>
public sealed class FakeAnthropicServer : FakeProviderServer
{
    public const string DefaultApiKey = "sk-ant-fake-8d41b7c09e2f4a63";

    private FakeAnthropicServer(FakeServerOptions? options)
        : base(options, "anthropic", DefaultApiKey, "x-api-key")
    {
    }

    public static async Task<FakeAnthropicServer> StartAsync(FakeServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new FakeAnthropicServer(options);
        try
        {
            await server.StartCoreAsync(cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Anthropic's error type for a status.</summary>
    public static string ErrorType(int status) => status switch
    {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        504 => "timeout_error",
        _ => status >= 500 ? "api_error" : "invalid_request_error",
    };

    protected override Task WriteErrorAsync(HttpContext context, int status, string? message)
    {
        var defaultMessage = status switch
        {
            401 => "invalid x-api-key",
            403 => "Your API key does not have permission to use the specified resource.",
            404 => "The requested resource could not be found.",
            413 => "Request exceeds the maximum allowed number of bytes.",
            429 => "Number of request tokens has exceeded your per-minute rate limit.",
            529 => "Overloaded",
            >= 500 => "Internal server error",
            _ => "Invalid request.",
        };
        return WriteError(context, status, message ?? defaultMessage);
    }

    private static JsonObject ErrorBody(string type, string message) => new()
    {
        ["type"] = "error",
        ["error"] = new JsonObject { ["type"] = type, ["message"] = message },
    };

    private static Task WriteError(HttpContext context, int status, string message) =>
        WriteJsonAsync(context, status, ErrorBody(ErrorType(status), message));

    protected override async Task HandleAsync(HttpContext context, FakeRequest request)
    {
        context.Response.Headers["request-id"] = Id("req_", request);
        var path = RelativePath(context);
        var method = context.Request.Method;
        if (path == "/messages" && HttpMethods.IsPost(method))
        {
            if (await AuthorizeAsync(context).ConfigureAwait(false))
            {
                await MessagesAsync(context, request).ConfigureAwait(false);
            }

            return;
        }

        if (path == "/models" && HttpMethods.IsGet(method))
        {
            if (await AuthorizeAsync(context).ConfigureAwait(false))
            {
                var models = new JsonArray();
                foreach (var model in Options.Models ?? ["fake-claude"])
                {
                    models.Add(new JsonObject { ["type"] = "model", ["id"] = model, ["display_name"] = model, ["created_at"] = "2025-01-01T00:00:00Z" });
                }

                await WriteJsonAsync(context, 200, new JsonObject { ["data"] = models, ["has_more"] = false }).ConfigureAwait(false);
            }

            return;
        }

        await WriteError(context, 404, "Not Found").ConfigureAwait(false);
    }

    private async Task<bool> AuthorizeAsync(HttpContext context)
    {
        if (ApiKey is not null)
        {
            var value = context.Request.Headers[ApiKeyHeader].ToString();
            if (string.Equals(ApiKeyHeader, "Authorization", StringComparison.OrdinalIgnoreCase))
            {
                value = value.StartsWith("Bearer ", StringComparison.Ordinal) ? value["Bearer ".Length..] : string.Empty;
            }

            if (value.Length == 0)
            {
                await WriteError(context, 401, $"{ApiKeyHeader} header is required").ConfigureAwait(false);
                return false;
            }

            if (!string.Equals(value, ApiKey, StringComparison.Ordinal))
            {
                await WriteError(context, 401, "invalid x-api-key").ConfigureAwait(false);
                return false;
            }
        }

        if (string.IsNullOrEmpty(context.Request.Headers["anthropic-version"].ToString()))
        {
            await WriteError(context, 400, "anthropic-version: header is required").ConfigureAwait(false);
            return false;
        }

        return true;
    }

    private async Task MessagesAsync(HttpContext context, FakeRequest request)
    {
        var body = request.Body;
        if (body.ValueKind != JsonValueKind.Object)
        {
            await WriteError(context, 400, "There was an issue with your request body: it is not valid JSON.").ConfigureAwait(false);
            return;
        }

        if (Validate(body) is { } problem)
        {
            await WriteError(context, 400, problem).ConfigureAwait(false);
            return;
        }

        var model = body.GetProperty("model").GetString()!;
        if (Options.Models is { } known && !known.Contains(model))
        {
            await WriteError(context, 404, $"model: {model}").ConfigureAwait(false);
            return;
        }

        var messages = body.GetProperty("messages");
        var maxTokens = body.GetProperty("max_tokens").GetInt32();
        var (lastUser, toolResult, endsWithUserText) = Conversation(messages);
        var stop = body.TryGetProperty("stop_sequences", out var sequences) && sequences.ValueKind == JsonValueKind.Array
            ? sequences.EnumerateArray().Select(s => s.GetString() ?? string.Empty).ToList()
            : [];
        var inputTokens = InputTokens(body);
        var toolCall = endsWithUserText ? PlanToolCall(body, lastUser, request) : null;

        if (toolCall is not null)
        {
            var outputTokens = EstimateTokens(toolCall.Name) + EstimateTokens(toolCall.Input) + 10;
            if (request.Stream)
            {
                await StreamToolUseAsync(context, request, model, toolCall, inputTokens, outputTokens).ConfigureAwait(false);
            }
            else
            {
                var block = new JsonObject { ["type"] = "tool_use", ["id"] = toolCall.Id, ["name"] = toolCall.Name, ["input"] = JsonNode.Parse(toolCall.Input) };
                await WriteJsonAsync(context, 200, Message(request, model, new JsonArray(block), "tool_use", null, inputTokens, outputTokens)).ConfigureAwait(false);
            }

            return;
        }

        var answer = ComposeAnswer(lastUser, toolResult, stop, maxTokens);
        var stopReason = answer.Truncated ? "max_tokens" : answer.StopSequence is null ? "end_turn" : "stop_sequence";
        if (request.Stream)
        {
            await StreamTextAsync(context, request, model, answer, stopReason, inputTokens).ConfigureAwait(false);
        }
        else
        {
            var text = new JsonObject { ["type"] = "text", ["text"] = answer.Text };
            await WriteJsonAsync(context, 200, Message(request, model, new JsonArray(text), stopReason, answer.StopSequence, inputTokens, answer.Pieces.Count))
                .ConfigureAwait(false);
        }
    }

    /// <summary>The checks of the real API that a translation from OpenAI's shape can fail; null when the body passes.</summary>
    private static string? Validate(JsonElement body)
    {
        if (!body.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String)
        {
            return "model: Field required";
        }

        if (!body.TryGetProperty("max_tokens", out var maxTokens) || maxTokens.ValueKind != JsonValueKind.Number)
        {
            return "max_tokens: Field required";
        }

        if (!maxTokens.TryGetInt32(out var max) || max < 1)
        {
            return "max_tokens: Input should be greater than or equal to 1";
        }

        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return "messages: Field required";
        }

        if (body.TryGetProperty("temperature", out var temperature) && (temperature.ValueKind != JsonValueKind.Number || temperature.GetDouble() is < 0 or > 1))
        {
            return "temperature: Input should be less than or equal to 1";
        }

        if (body.TryGetProperty("system", out var system) && system.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
        {
            return "system: Input should be a valid string or a list of text blocks";
        }

        if (body.TryGetProperty("tools", out var tools))
        {
            var t = 0;
            foreach (var tool in tools.EnumerateArray())
            {
                if (!tool.TryGetProperty("name", out _))
                {
                    return Invariant($"tools.{t}.name: Field required");
                }

                if (!tool.TryGetProperty("input_schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                {
                    return Invariant($"tools.{t}.input_schema: Field required");
                }

                t++;
            }
        }

        if (body.TryGetProperty("tool_choice", out var choice)
            && !(choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("type", out var choiceType) && choiceType.GetString() is "auto" or "any" or "none" or "tool"))
        {
            return "tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'";
        }

        var previousToolUses = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var role = message.TryGetProperty("role", out var r) ? r.GetString() : null;
            if (role is not ("user" or "assistant"))
            {
                return role is "system"
                    ? Invariant($"messages.{index}.role: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.")
                    : Invariant($"messages.{index}.role: Input should be 'user' or 'assistant'");
            }

            if (!message.TryGetProperty("content", out var content) || content.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
            {
                return Invariant($"messages.{index}.content: Field required");
            }

            if (content.ValueKind == JsonValueKind.Array && content.GetArrayLength() == 0 && index < messages.GetArrayLength() - 1)
            {
                return Invariant($"messages.{index}: all messages must have non-empty content except for the optional final assistant message");
            }

            var toolUses = new HashSet<string>(StringComparer.Ordinal);
            var block = 0;
            foreach (var part in content.ValueKind == JsonValueKind.Array ? content.EnumerateArray().ToList() : [])
            {
                var type = part.TryGetProperty("type", out var ty) ? ty.GetString() : null;
                switch (type)
                {
                    case "text":
                        if (!part.TryGetProperty("text", out var text) || string.IsNullOrEmpty(text.GetString()))
                        {
                            return Invariant($"messages.{index}.content.{block}.text: text content blocks must be non-empty");
                        }

                        break;
                    case "image":
                        if (!part.TryGetProperty("source", out var source) || !source.TryGetProperty("type", out var sourceType)
                            || sourceType.GetString() is not ("base64" or "url"))
                        {
                            return Invariant($"messages.{index}.content.{block}.image.source: Field required");
                        }

                        break;
                    case "tool_use" when role == "assistant":
                        if (!part.TryGetProperty("input", out var input) || input.ValueKind != JsonValueKind.Object)
                        {
                            return Invariant($"messages.{index}.content.{block}.tool_use.input: Input should be a valid dictionary");
                        }

                        toolUses.Add(part.GetProperty("id").GetString()!);
                        break;
                    case "tool_result" when role == "user":
                        var id = part.TryGetProperty("tool_use_id", out var i) ? i.GetString() : null;
                        if (id is null || !previousToolUses.Contains(id))
                        {
                            return Invariant($"messages.{index}.content.{block}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.");
                        }

                        break;
                    default:
                        return Invariant($"messages.{index}.content.{block}.type: Input tag '{type}' found using 'type' does not match any of the expected tags");
                }

                block++;
            }

            previousToolUses = toolUses;
            index++;
        }

        return null;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The last user text; the tool results when the last message carries them; whether it ends with user text.</summary>
    private static (string LastUser, string? ToolResult, bool EndsWithUserText) Conversation(JsonElement messages)
    {
        var lastUser = string.Empty;
        string? toolResult = null;
        var endsWithUserText = false;
        foreach (var message in messages.EnumerateArray())
        {
            var role = message.GetProperty("role").GetString();
            var content = message.GetProperty("content");
            toolResult = null;
            endsWithUserText = false;
            if (role != "user")
            {
                continue;
            }

            if (content.ValueKind == JsonValueKind.String)
            {
                lastUser = content.GetString()!;
                endsWithUserText = true;
                continue;
            }

            var text = new StringBuilder();
            var results = new StringBuilder();
            foreach (var block in content.EnumerateArray())
            {
                switch (block.GetProperty("type").GetString())
                {
                    case "text":
                        text.Append(text.Length == 0 ? string.Empty : " ").Append(block.GetProperty("text").GetString());
                        break;
                    case "tool_result":
                        results.Append(results.Length == 0 ? string.Empty : " ").Append(block.TryGetProperty("content", out var c) ? BlockText(c) : string.Empty);
                        break;
                }
            }

            if (text.Length > 0)
            {
                lastUser = text.ToString();
            }

            toolResult = results.Length > 0 ? results.ToString() : null;
            endsWithUserText = toolResult is null && text.Length > 0;
        }

        return (lastUser, toolResult, endsWithUserText);
    }

    private static string BlockText(JsonElement content) => content.ValueKind == JsonValueKind.String
        ? content.GetString()!
        : string.Join(" ", content.EnumerateArray().Where(b => b.TryGetProperty("text", out _)).Select(b => b.GetProperty("text").GetString()));

    private static int InputTokens(JsonElement body)
    {
        var tokens = 3;
        if (body.TryGetProperty("system", out var system))
        {
            tokens += EstimateTokens(system.ValueKind == JsonValueKind.String ? system.GetString() : system.GetRawText()) + 3;
        }

        foreach (var message in body.GetProperty("messages").EnumerateArray())
        {
            var content = message.GetProperty("content");
            tokens += 3 + EstimateTokens(content.ValueKind == JsonValueKind.String ? content.GetString() : content.GetRawText());
        }

        if (body.TryGetProperty("tools", out var tools))
        {
            tokens += EstimateTokens(tools.GetRawText()) + 300;
        }

        return tokens;
    }

    private sealed record ToolUse(string Id, string Name, string Input);

    /// <summary>A tool_use of the chosen tool (tool_choice {type: tool, name}) or the first, unless tool_choice is none.</summary>
    private ToolUse? PlanToolCall(JsonElement body, string lastUser, FakeRequest request)
    {
        if (!AnswerWithToolCalls || !body.TryGetProperty("tools", out var tools) || tools.GetArrayLength() == 0)
        {
            return null;
        }

        string? chosen = null;
        if (body.TryGetProperty("tool_choice", out var choice))
        {
            var type = choice.GetProperty("type").GetString();
            if (type == "none")
            {
                return null;
            }

            if (type == "tool")
            {
                chosen = choice.TryGetProperty("name", out var name) ? name.GetString() : null;
            }
        }

        foreach (var tool in tools.EnumerateArray())
        {
            var name = tool.GetProperty("name").GetString()!;
            if (chosen is null || name == chosen)
            {
                return new ToolUse(Id("toolu_", request), name, ToolArguments(tool.GetProperty("input_schema"), lastUser));
            }
        }

        return null;
    }

    private static JsonObject Usage(int inputTokens, int outputTokens) => new()
    {
        ["input_tokens"] = inputTokens,
        ["cache_creation_input_tokens"] = 0,
        ["cache_read_input_tokens"] = 0,
        ["output_tokens"] = outputTokens,
        ["service_tier"] = "standard",
    };

    private static JsonObject Message(FakeRequest request, string model, JsonArray content, string? stopReason, string? stopSequence, int inputTokens, int outputTokens) => new()
    {
        ["id"] = Id("msg_", request),
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = model,
        ["content"] = content,
        ["stop_reason"] = stopReason,
        ["stop_sequence"] = stopSequence,
        ["usage"] = Usage(inputTokens, outputTokens),
    };

    private static Task WriteAsync(HttpContext context, string type, JsonObject data)
    {
        var ordered = new JsonObject { ["type"] = type };
        foreach (var (key, value) in data.ToList())
        {
            if (key != "type")
            {
                data.Remove(key);
                ordered[key] = value;
            }
        }

        return WriteEventAsync(context, type, ordered.ToJsonString(Json));
    }

    private static async Task StartMessageAsync(HttpContext context, FakeRequest request, string model, int inputTokens)
    {
        await StartStreamAsync(context).ConfigureAwait(false);
        await WriteAsync(context, "message_start", new JsonObject { ["message"] = Message(request, model, [], null, null, inputTokens, 1) }).ConfigureAwait(false);
    }

    private async Task StreamTextAsync(HttpContext context, FakeRequest request, string model, FakeAnswer answer, string stopReason, int inputTokens)
    {
        await StartMessageAsync(context, request, model, inputTokens).ConfigureAwait(false);
        await WriteAsync(context, "content_block_start", new JsonObject { ["index"] = 0, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = string.Empty } })
            .ConfigureAwait(false);
        await WriteEventAsync(context, "ping", """{"type": "ping"}""").ConfigureAwait(false);
        for (var i = 0; i < answer.Pieces.Count; i++)
        {
            if (!await ChunkAsync(context, request, i).ConfigureAwait(false))
            {
                return;
            }

            var delta = new JsonObject { ["type"] = "text_delta", ["text"] = answer.Pieces[i] };
            await WriteAsync(context, "content_block_delta", new JsonObject { ["index"] = 0, ["delta"] = delta }).ConfigureAwait(false);
        }

        await EndMessageAsync(context, stopReason, answer.StopSequence, answer.Pieces.Count).ConfigureAwait(false);
    }

    private async Task StreamToolUseAsync(HttpContext context, FakeRequest request, string model, ToolUse call, int inputTokens, int outputTokens)
    {
        await StartMessageAsync(context, request, model, inputTokens).ConfigureAwait(false);
        var block = new JsonObject { ["type"] = "tool_use", ["id"] = call.Id, ["name"] = call.Name, ["input"] = new JsonObject() };
        await WriteAsync(context, "content_block_start", new JsonObject { ["index"] = 0, ["content_block"] = block }).ConfigureAwait(false);
        await WriteEventAsync(context, "ping", """{"type": "ping"}""").ConfigureAwait(false);

        // Anthropic starts an input with an empty fragment.
        var pieces = Chop(call.Input, 8);
        pieces.Insert(0, string.Empty);
        for (var i = 0; i < pieces.Count; i++)
        {
            if (!await ChunkAsync(context, request, i).ConfigureAwait(false))
            {
                return;
            }

            var delta = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = pieces[i] };
            await WriteAsync(context, "content_block_delta", new JsonObject { ["index"] = 0, ["delta"] = delta }).ConfigureAwait(false);
        }

        await EndMessageAsync(context, "tool_use", null, outputTokens).ConfigureAwait(false);
    }

    private async Task<bool> ChunkAsync(HttpContext context, FakeRequest request, int index)
    {
        switch (await BeforeChunkAsync(context, request, index).ConfigureAwait(false))
        {
            case ChunkStep.Write:
                return true;
            case ChunkStep.Error:
                // How Anthropic reports a failure once the stream has started (e.g. overloaded): an error event, then the end.
                await WriteEventAsync(context, "error", ErrorBody("overloaded_error", "Overloaded").ToJsonString(Json)).ConfigureAwait(false);
                return false;
            default:
                return false;
        }
    }

    private static async Task EndMessageAsync(HttpContext context, string stopReason, string? stopSequence, int outputTokens)
    {
        await WriteAsync(context, "content_block_stop", new JsonObject { ["index"] = 0 }).ConfigureAwait(false);
        await WriteAsync(context, "message_delta", new JsonObject
        {
            ["delta"] = new JsonObject { ["stop_reason"] = stopReason, ["stop_sequence"] = stopSequence },
            ["usage"] = new JsonObject { ["output_tokens"] = outputTokens },
        }).ConfigureAwait(false);
        await WriteAsync(context, "message_stop", []).ConfigureAwait(false);
    }
}
