using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace SmartHub.FakeProviders;

/// <summary>
/// An OpenAI-compatible chat completions server: POST <c>{prefix}/chat/completions</c> (also under any deeper path
/// ending so, like Azure's <c>/openai/deployments/&lt;name&gt;/chat/completions</c>) and GET <c>{prefix}/models</c>.
/// It checks the key (<c>Authorization: Bearer</c>, or <see cref="FakeServerOptions.ApiKeyHeader"/>), the body the
/// way OpenAI does (model, messages, tool messages answering a preceding tool call), and answers as OpenAI formats it:
/// <c>chat.completion</c> objects, or <c>chat.completion.chunk</c> events (a role chunk, content chunks, a finish
/// chunk, the usage chunk with empty choices when <c>stream_options.include_usage</c>, then <c>data: [DONE]</c>).
/// Errors are <c>{"error": {"message", "type", "param", "code"}}</c>.
/// </summary>
public sealed class FakeOpenAiServer : FakeProviderServer
{
    public const string DefaultApiKey = "sk-fake-openai-3f9c2d7e51a84b06";

    private FakeOpenAiServer(FakeServerOptions? options)
        : base(options, "openai", DefaultApiKey, "Authorization")
    {
    }

    public static async Task<FakeOpenAiServer> StartAsync(FakeServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new FakeOpenAiServer(options);
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

    protected override Task WriteErrorAsync(HttpContext context, int status, string? message)
    {
        var (defaultMessage, type, code) = status switch
        {
            400 => ("Invalid request.", "invalid_request_error", null),
            401 => ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
            403 => ("You are not allowed to sample from this model.", "invalid_request_error", null),
            404 => ("The model does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"),
            429 => ("Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
            503 => ("The engine is currently overloaded, please try again later.", "server_error", null),
            >= 500 => ("The server had an error while processing your request. Sorry about that!", "server_error", null),
            _ => ("Request failed.", "invalid_request_error", (string?)null),
        };
        return WriteError(context, status, message ?? defaultMessage, type, code);
    }

    private static Task WriteError(HttpContext context, int status, string message, string type, string? code, string? param = null) =>
        WriteJsonAsync(context, status, ErrorBody(message, type, code, param));

    private static JsonObject ErrorBody(string message, string type, string? code, string? param = null) => new()
    {
        ["error"] = new JsonObject
        {
            ["message"] = message,
            ["type"] = type,
            ["param"] = param,
            ["code"] = code,
        },
    };

    protected override async Task HandleAsync(HttpContext context, FakeRequest request)
    {
        context.Response.Headers["x-request-id"] = Id("req_", request);
        var path = RelativePath(context);
        var method = context.Request.Method;
        if (path is not null && HttpMethods.IsPost(method) && path.EndsWith("/chat/completions", StringComparison.Ordinal))
        {
            if (await AuthorizeAsync(context).ConfigureAwait(false))
            {
                await ChatAsync(context, request).ConfigureAwait(false);
            }

            return;
        }

        if (path == "/models" && HttpMethods.IsGet(method))
        {
            if (await AuthorizeAsync(context).ConfigureAwait(false))
            {
                var models = new JsonArray();
                foreach (var model in Options.Models ?? ["fake-model"])
                {
                    models.Add(new JsonObject { ["id"] = model, ["object"] = "model", ["created"] = 1_700_000_000, ["owned_by"] = Name });
                }

                await WriteJsonAsync(context, 200, new JsonObject { ["object"] = "list", ["data"] = models }).ConfigureAwait(false);
            }

            return;
        }

        await WriteError(context, 404, $"Invalid URL ({method} {context.Request.Path})", "invalid_request_error", null).ConfigureAwait(false);
    }

    private async Task<bool> AuthorizeAsync(HttpContext context)
    {
        if (ApiKey is null)
        {
            return true;
        }

        var bearer = string.Equals(ApiKeyHeader, "Authorization", StringComparison.OrdinalIgnoreCase);
        var value = context.Request.Headers[ApiKeyHeader].ToString();
        var presented = bearer ? (value.StartsWith("Bearer ", StringComparison.Ordinal) ? value["Bearer ".Length..] : null) : value;
        if (string.IsNullOrEmpty(presented))
        {
            await WriteError(context, 401, bearer
                ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
                : $"Access denied due to missing subscription key. Make sure to include the key in the {ApiKeyHeader} header.",
                "invalid_request_error", null).ConfigureAwait(false);
            return false;
        }

        if (!string.Equals(presented, ApiKey, StringComparison.Ordinal))
        {
            await WriteError(context, 401, $"Incorrect API key provided: {Mask(presented)}. You can find your API key at https://platform.openai.com/account/api-keys.",
                "invalid_request_error", "invalid_api_key").ConfigureAwait(false);
            return false;
        }

        return true;
    }

    /// <summary>As OpenAI shows a wrong key: its first and last characters.</summary>
    private static string Mask(string key) => key.Length <= 8 ? "****" : $"{key[..3]}{new string('*', Math.Min(20, key.Length - 7))}{key[^4..]}";

    private async Task ChatAsync(HttpContext context, FakeRequest request)
    {
        var body = request.Body;
        if (body.ValueKind != JsonValueKind.Object)
        {
            await WriteError(context, 400,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
                "invalid_request_error", null).ConfigureAwait(false);
            return;
        }

        if (!body.TryGetProperty("model", out var modelElement) || modelElement.ValueKind != JsonValueKind.String)
        {
            await WriteError(context, 400, "you must provide a model parameter", "invalid_request_error", null).ConfigureAwait(false);
            return;
        }

        var model = modelElement.GetString()!;
        if (Options.Models is { } known && !known.Contains(model))
        {
            await WriteError(context, 404, $"The model `{model}` does not exist or you do not have access to it.", "invalid_request_error", "model_not_found")
                .ConfigureAwait(false);
            return;
        }

        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            await WriteError(context, 400, "[] is too short - 'messages'", "invalid_request_error", null, "messages").ConfigureAwait(false);
            return;
        }

        if (Validate(messages) is { } problem)
        {
            await WriteError(context, 400, problem.Message, "invalid_request_error", null, problem.Param).ConfigureAwait(false);
            return;
        }

        var (lastUser, toolResult, lastRole) = Conversation(messages);
        var stop = StopSequences(body);
        int? maxTokens = (body.TryGetProperty("max_tokens", out var mt) || body.TryGetProperty("max_completion_tokens", out mt)) && mt.TryGetInt32(out var max) ? max : null;
        var promptTokens = PromptTokens(messages, body);
        var toolCall = lastRole == "user" ? PlanToolCall(body, lastUser, request) : null;
        var stream = request.Stream;
        var includeUsage = stream && body.TryGetProperty("stream_options", out var options) && options.ValueKind == JsonValueKind.Object
            && options.TryGetProperty("include_usage", out var include) && include.ValueKind == JsonValueKind.True;

        if (toolCall is not null)
        {
            var completionTokens = EstimateTokens(toolCall.Name) + EstimateTokens(toolCall.Arguments) + 3;
            if (stream)
            {
                await StreamToolCallAsync(context, request, model, toolCall, promptTokens, completionTokens, includeUsage).ConfigureAwait(false);
            }
            else
            {
                var message = new JsonObject
                {
                    ["role"] = "assistant",
                    ["content"] = null,
                    ["tool_calls"] = new JsonArray(ToolCallJson(toolCall, index: null, toolCall.Arguments)),
                    ["refusal"] = null,
                    ["annotations"] = new JsonArray(),
                };
                await WriteJsonAsync(context, 200, Completion(request, model, message, "tool_calls", promptTokens, completionTokens)).ConfigureAwait(false);
            }

            return;
        }

        var answer = ComposeAnswer(lastUser, toolResult, stop, maxTokens);
        var finish = answer.Truncated ? "length" : "stop";
        if (stream)
        {
            await StreamAnswerAsync(context, request, model, answer, finish, promptTokens, includeUsage).ConfigureAwait(false);
        }
        else
        {
            var message = new JsonObject { ["role"] = "assistant", ["content"] = answer.Text, ["refusal"] = null, ["annotations"] = new JsonArray() };
            await WriteJsonAsync(context, 200, Completion(request, model, message, finish, promptTokens, answer.Pieces.Count)).ConfigureAwait(false);
        }
    }

    private sealed record Problem(string Message, string? Param);

    /// <summary>OpenAI's own checks of a conversation: known roles, tool messages answering a preceding tool call.</summary>
    private static Problem? Validate(JsonElement messages)
    {
        var openCalls = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var where = string.Create(CultureInfo.InvariantCulture, $"messages.[{index}]");
            var role = message.ValueKind == JsonValueKind.Object && message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            switch (role)
            {
                case "system" or "developer" or "user":
                    openCalls.Clear();
                    break;
                case "assistant":
                    openCalls.Clear();
                    if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var call in calls.EnumerateArray())
                        {
                            if (call.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
                            {
                                openCalls.Add(id.GetString()!);
                            }
                        }
                    }

                    break;
                case "tool":
                    var answered = message.TryGetProperty("tool_call_id", out var callId) && callId.ValueKind == JsonValueKind.String ? callId.GetString() : null;
                    if (answered is null || !openCalls.Contains(answered))
                    {
                        return new Problem("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", $"{where}.role");
                    }

                    break;
                default:
                    return new Problem($"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function', and 'developer'.", $"{where}.role");
            }

            index++;
        }

        return null;
    }

    /// <summary>The last user message's text; the tool result when the conversation ends with one; the last role.</summary>
    private static (string LastUser, string? ToolResult, string? LastRole) Conversation(JsonElement messages)
    {
        var lastUser = string.Empty;
        string? lastRole = null;
        string? toolResult = null;
        foreach (var message in messages.EnumerateArray())
        {
            lastRole = message.GetProperty("role").GetString();
            var text = message.TryGetProperty("content", out var content) ? Text(content) : null;
            toolResult = lastRole == "tool" ? text : null;
            if (lastRole == "user")
            {
                lastUser = text ?? string.Empty;
            }
        }

        return (lastUser, toolResult, lastRole);
    }

    /// <summary>A content: the string, or its text parts joined.</summary>
    private static string? Text(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString();
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var builder = new StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.TryGetProperty("type", out var type) && type.GetString() == "text" && part.TryGetProperty("text", out var text))
            {
                builder.Append(builder.Length == 0 ? string.Empty : " ").Append(text.GetString());
            }
        }

        return builder.ToString();
    }

    private static List<string> StopSequences(JsonElement body)
    {
        var stop = new List<string>();
        if (body.TryGetProperty("stop", out var value))
        {
            if (value.ValueKind == JsonValueKind.String)
            {
                stop.Add(value.GetString()!);
            }
            else if (value.ValueKind == JsonValueKind.Array)
            {
                stop.AddRange(value.EnumerateArray().Where(s => s.ValueKind == JsonValueKind.String).Select(s => s.GetString()!));
            }
        }

        return stop;
    }

    /// <summary>OpenAI's message overhead (3 per message, 3 priming the reply) over an estimate of the text and tools.</summary>
    private static int PromptTokens(JsonElement messages, JsonElement body)
    {
        var tokens = 3;
        foreach (var message in messages.EnumerateArray())
        {
            tokens += 3 + 1 + (message.TryGetProperty("content", out var content) ? EstimateTokens(Text(content)) : 0);
            if (message.TryGetProperty("tool_calls", out var calls))
            {
                tokens += EstimateTokens(calls.GetRawText());
            }
        }

        if (body.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array)
        {
            tokens += EstimateTokens(tools.GetRawText());
        }

        return tokens;
    }

    private sealed record ToolCall(string Id, string Name, string Arguments);

    /// <summary>A call of the chosen tool (tool_choice {function: {name}}) or the first, unless tool_choice is "none".</summary>
    private ToolCall? PlanToolCall(JsonElement body, string lastUser, FakeRequest request)
    {
        if (!AnswerWithToolCalls || !body.TryGetProperty("tools", out var tools) || tools.ValueKind != JsonValueKind.Array || tools.GetArrayLength() == 0)
        {
            return null;
        }

        string? chosen = null;
        if (body.TryGetProperty("tool_choice", out var choice))
        {
            if (choice.ValueKind == JsonValueKind.String && choice.GetString() == "none")
            {
                return null;
            }

            if (choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("function", out var f) && f.TryGetProperty("name", out var n))
            {
                chosen = n.GetString();
            }
        }

        foreach (var tool in tools.EnumerateArray())
        {
            if (!tool.TryGetProperty("function", out var function) || !function.TryGetProperty("name", out var name))
            {
                continue;
            }

            if (chosen is null || name.GetString() == chosen)
            {
                var schema = function.TryGetProperty("parameters", out var parameters) ? parameters : default;
                return new ToolCall(Id("call_", request), name.GetString()!, ToolArguments(schema, lastUser));
            }
        }

        return null;
    }

    private static JsonObject ToolCallJson(ToolCall call, int? index, string arguments, bool head = true)
    {
        var json = new JsonObject();
        if (index is { } i)
        {
            json["index"] = i;
        }

        if (head)
        {
            json["id"] = call.Id;
            json["type"] = "function";
            json["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = arguments };
        }
        else
        {
            json["function"] = new JsonObject { ["arguments"] = arguments };
        }

        return json;
    }

    private JsonObject Completion(FakeRequest request, string model, JsonObject message, string finish, int promptTokens, int completionTokens) => new()
    {
        ["id"] = Id("chatcmpl-", request),
        ["object"] = "chat.completion",
        ["created"] = UnixNow(),
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["message"] = message,
            ["logprobs"] = null,
            ["finish_reason"] = finish,
        }),
        ["usage"] = Usage(promptTokens, completionTokens),
        ["service_tier"] = "default",
        ["system_fingerprint"] = "fp_fake0001",
    };

    private static JsonObject Usage(int promptTokens, int completionTokens) => new()
    {
        ["prompt_tokens"] = promptTokens,
        ["completion_tokens"] = completionTokens,
        ["total_tokens"] = promptTokens + completionTokens,
        ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = 0, ["audio_tokens"] = 0 },
        ["completion_tokens_details"] = new JsonObject
        {
            ["reasoning_tokens"] = 0,
            ["audio_tokens"] = 0,
            ["accepted_prediction_tokens"] = 0,
            ["rejected_prediction_tokens"] = 0,
        },
    };

    /// <summary>A chat.completion.chunk with one choice (or none, for the usage chunk).</summary>
    private string Chunk(FakeRequest request, string model, JsonObject? delta, string? finish, bool includeUsage, JsonObject? usage = null)
    {
        var chunk = new JsonObject
        {
            ["id"] = Id("chatcmpl-", request),
            ["object"] = "chat.completion.chunk",
            ["created"] = UnixNow(),
            ["model"] = model,
            ["service_tier"] = "default",
            ["system_fingerprint"] = "fp_fake0001",
            ["choices"] = delta is null
                ? new JsonArray()
                : new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish }),
        };
        if (includeUsage)
        {
            chunk["usage"] = usage;
        }

        return chunk.ToJsonString(Json);
    }

    private async Task StreamAnswerAsync(HttpContext context, FakeRequest request, string model, FakeAnswer answer, string finish, int promptTokens, bool includeUsage)
    {
        await StartStreamAsync(context).ConfigureAwait(false);
        await WriteEventAsync(context, null, Chunk(request, model, new JsonObject { ["role"] = "assistant", ["content"] = string.Empty, ["refusal"] = null }, null, includeUsage))
            .ConfigureAwait(false);
        for (var i = 0; i < answer.Pieces.Count; i++)
        {
            if (!await ChunkAsync(context, request, i).ConfigureAwait(false))
            {
                return;
            }

            await WriteEventAsync(context, null, Chunk(request, model, new JsonObject { ["content"] = answer.Pieces[i] }, null, includeUsage)).ConfigureAwait(false);
        }

        await EndStreamAsync(context, request, model, finish, promptTokens, answer.Pieces.Count, includeUsage).ConfigureAwait(false);
    }

    private async Task StreamToolCallAsync(HttpContext context, FakeRequest request, string model, ToolCall call, int promptTokens, int completionTokens, bool includeUsage)
    {
        await StartStreamAsync(context).ConfigureAwait(false);
        var head = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = null,
            ["tool_calls"] = new JsonArray(ToolCallJson(call, 0, string.Empty)),
            ["refusal"] = null,
        };
        await WriteEventAsync(context, null, Chunk(request, model, head, null, includeUsage)).ConfigureAwait(false);
        var pieces = Chop(call.Arguments, 8);
        for (var i = 0; i < pieces.Count; i++)
        {
            if (!await ChunkAsync(context, request, i).ConfigureAwait(false))
            {
                return;
            }

            var delta = new JsonObject { ["tool_calls"] = new JsonArray(ToolCallJson(call, 0, pieces[i], head: false)) };
            await WriteEventAsync(context, null, Chunk(request, model, delta, null, includeUsage)).ConfigureAwait(false);
        }

        await EndStreamAsync(context, request, model, "tool_calls", promptTokens, completionTokens, includeUsage).ConfigureAwait(false);
    }

    /// <summary>The stream script before a content chunk; false when the stream is over (cut, or an error sent).</summary>
    private async Task<bool> ChunkAsync(HttpContext context, FakeRequest request, int index)
    {
        switch (await BeforeChunkAsync(context, request, index).ConfigureAwait(false))
        {
            case ChunkStep.Write:
                return true;
            case ChunkStep.Error:
                // How OpenAI reports a failure once the stream has started: an error object as a chunk, then the end.
                await WriteEventAsync(context, null, ErrorBody("The server had an error while processing your request. Sorry about that!", "server_error", null)
                    .ToJsonString(Json)).ConfigureAwait(false);
                return false;
            default:
                return false;
        }
    }

    private async Task EndStreamAsync(HttpContext context, FakeRequest request, string model, string finish, int promptTokens, int completionTokens, bool includeUsage)
    {
        await WriteEventAsync(context, null, Chunk(request, model, new JsonObject(), finish, includeUsage)).ConfigureAwait(false);
        if (includeUsage)
        {
            await WriteEventAsync(context, null, Chunk(request, model, null, null, includeUsage, Usage(promptTokens, completionTokens))).ConfigureAwait(false);
        }

        await WriteEventAsync(context, null, "[DONE]").ConfigureAwait(false);
    }
}
