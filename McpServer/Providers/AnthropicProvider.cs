using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace SmartHub.McpServer.Providers;

/// <summary>
/// Type <c>anthropic</c>: Anthropic's Messages API, POST <c>{BaseUrl}messages</c> with <c>x-api-key</c> (or the
/// deployment's <see cref="ChatDeployment.ApiKeyHeader"/>) and <c>anthropic-version: 2023-06-01</c>. The hub's
/// OpenAI-shaped call is translated both ways:
/// <list type="bullet">
/// <item>system and developer messages → the top-level <c>system</c> (joined by a blank line); user and assistant
/// messages in order, consecutive ones of the same role merged; text as text, content parts as blocks (text, images as
/// base64 or URL sources);</item>
/// <item>an assistant's <c>tool_calls</c> → <c>tool_use</c> blocks (input = the parsed arguments); <c>tool</c>
/// messages → a user message of <c>tool_result</c> blocks; tools → <c>tools</c> (name, description, input_schema);
/// tool_choice auto/none/required/function → auto/none/any/tool;</item>
/// <item><c>max_tokens</c> = <see cref="ChatCall.MaxTokens"/> (Anthropic requires it), temperature (clamped to
/// Anthropic's 0-1), top_p, stop → stop_sequences, user → metadata.user_id. Seed, penalties and response_format have
/// no Anthropic equivalent and are not sent;</item>
/// <item>back: text blocks joined → content, <c>tool_use</c> blocks → OpenAI <c>tool_calls</c> (arguments as a JSON
/// string), stop_reason end_turn/stop_sequence → stop, max_tokens → length, tool_use → tool_calls, refusal →
/// content_filter; usage input (with cache reads and writes) and output tokens. Streams become OpenAI-style deltas
/// (tool calls as indexed fragments) ending with one delta carrying the finish reason and the usage.</item>
/// </list>
/// </summary>
public sealed class AnthropicProvider : HttpChatProvider
{
    public const string ApiVersion = "2023-06-01";

    private const string Path = "messages";

    /// <summary>For the hub: a client of <see cref="ProviderExtensions.HttpClientName"/> per call.</summary>
    public AnthropicProvider(IHttpClientFactory httpClientFactory, TimeProvider timeProvider)
        : base(httpClientFactory, timeProvider)
    {
    }

    /// <summary>With one client for every call (tests, tools).</summary>
    public AnthropicProvider(HttpClient httpClient, TimeProvider timeProvider)
        : base(httpClient, timeProvider)
    {
    }

    public override string Type => "anthropic";

    public override async Task<ChatCompletion> CompleteAsync(ChatCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        using var request = CreateRequest(call, stream: false);
        using var response = await SendAsync(request, deployment, cancellationToken).ConfigureAwait(false);
        JsonDocument document;
        try
        {
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
        catch (JsonException exception)
        {
            throw ProviderHttp.Malformed(deployment, "a body that is not JSON", exception);
        }
        catch (Exception exception) when (exception is IOException or HttpRequestException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw ProviderHttp.Unreachable(deployment, exception);
        }

        using (document)
        {
            return ParseMessage(document.RootElement, deployment);
        }
    }

    public override async IAsyncEnumerable<ChatDelta> StreamAsync(ChatCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        using var request = CreateRequest(call, stream: true);
        using var response = await SendAsync(request, deployment, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = body.ConfigureAwait(false);
        var events = new SseReader(body);
        await using var __ = events.ConfigureAwait(false);

        var state = new StreamState();
        while (await ProviderHttp.NextEventAsync(events, deployment, cancellationToken).ConfigureAwait(false))
        {
            var delta = ParseEvent(events.Data, deployment, state);
            if (delta is not null)
            {
                yield return delta;
            }

            if (state.Stopped)
            {
                break;
            }
        }

        if (state.FinishReason is null)
        {
            throw new ProviderException(deployment.Provider, $"{deployment.Provider} ended the stream before the answer was finished.", null, isTransient: true);
        }

        yield return new ChatDelta(FinishReason: state.FinishReason, Usage: new TokenUsage(state.InputTokens, state.OutputTokens));
    }

    private static HttpRequestMessage CreateRequest(ChatCall call, bool stream)
    {
        var request = ProviderHttp.CreateRequest(call.Deployment, Path, WriteBody(call, stream), stream, "x-api-key");
        request.Headers.TryAddWithoutValidation("anthropic-version", ApiVersion);
        return request;
    }

    // ---- Request translation ----

    private enum BlockKind
    {
        Text,
        Image,
        ToolUse,
        ToolResult,
    }

    /// <summary>One content block: Text (Text), Image (Json = OpenAI's image_url object), ToolUse (Id, Name, Json =
    /// input), ToolResult (Id, Text).</summary>
    private readonly record struct Block(BlockKind Kind, string? Text = null, string? Id = null, string? Name = null, JsonElement Json = default);

    private sealed record Turn(string Role, List<Block> Blocks);

    /// <summary>The Messages API body, written field by field (no reflection); absent values are left out.</summary>
    internal static ArrayBufferWriter<byte> WriteBody(ChatCall call, bool stream)
    {
        var request = call.Request;
        var deployment = call.Deployment;
        var (system, turns) = Translate(request.Messages, deployment);

        var buffer = new ArrayBufferWriter<byte>(1024);
        using var json = new Utf8JsonWriter(buffer, ProviderHttp.WriterOptions);
        json.WriteStartObject();
        json.WriteString("model"u8, deployment.UpstreamModel);
        json.WriteNumber("max_tokens"u8, call.MaxTokens);
        if (system is not null)
        {
            json.WriteString("system"u8, system);
        }

        json.WriteStartArray("messages"u8);
        foreach (var turn in turns)
        {
            json.WriteStartObject();
            json.WriteString("role"u8, turn.Role);
            if (turn.Blocks is [{ Kind: BlockKind.Text, Text: { } text }])
            {
                json.WriteString("content"u8, text);
            }
            else
            {
                json.WriteStartArray("content"u8);
                foreach (var block in turn.Blocks)
                {
                    WriteBlock(json, block);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        if (request.Temperature is { } temperature)
        {
            json.WriteNumber("temperature"u8, Math.Clamp(temperature, 0, 1));
        }

        if (request.TopP is { } topP)
        {
            json.WriteNumber("top_p"u8, topP);
        }

        if (request.Stop is { Count: > 0 } stop)
        {
            json.WriteStartArray("stop_sequences"u8);
            foreach (var sequence in stop)
            {
                json.WriteStringValue(sequence);
            }

            json.WriteEndArray();
        }

        if (WriteTools(json, request.Tools))
        {
            WriteToolChoice(json, request.ToolChoice);
        }

        if (request.User is not null)
        {
            json.WriteStartObject("metadata"u8);
            json.WriteString("user_id"u8, request.User);
            json.WriteEndObject();
        }

        if (stream)
        {
            json.WriteBoolean("stream"u8, true);
        }

        json.WriteEndObject();
        json.Flush();
        return buffer;
    }

    /// <summary>System text hoisted; the rest as alternating turns (tool results are the user's).</summary>
    private static (string? System, List<Turn> Turns) Translate(IReadOnlyList<ChatMessage> messages, ChatDeployment deployment)
    {
        StringBuilder? system = null;
        var turns = new List<Turn>(messages.Count);
        foreach (var message in messages)
        {
            switch (message.Role)
            {
                case ChatMessage.System or ChatMessage.Developer:
                    if (!string.IsNullOrEmpty(message.Content))
                    {
                        system = system is null ? new StringBuilder(message.Content) : system.Append("\n\n").Append(message.Content);
                    }

                    break;
                case ChatMessage.User:
                    AddBlocks(turns, "user", ContentBlocks(message, deployment));
                    break;
                case ChatMessage.Assistant:
                    var blocks = ContentBlocks(message, deployment);
                    if (message.ToolCalls is { ValueKind: JsonValueKind.Array } calls)
                    {
                        foreach (var toolCall in calls.EnumerateArray())
                        {
                            blocks.Add(ToolUse(toolCall, deployment));
                        }
                    }

                    AddBlocks(turns, "assistant", blocks);
                    break;
                case ChatMessage.Tool:
                    AddBlocks(turns, "user", [new Block(BlockKind.ToolResult, message.Content, Id: message.ToolCallId ?? string.Empty)]);
                    break;
                default:
                    throw new ProviderException(deployment.Provider, $"{deployment.Provider} cannot take a message of role '{ProviderHttp.Clean(message.Role, deployment)}'.", null, isTransient: false);
            }
        }

        return (system?.ToString(), turns);
    }

    /// <summary>Appends to the last turn when it has the same role (Anthropic wants turns to alternate).</summary>
    private static void AddBlocks(List<Turn> turns, string role, List<Block> blocks)
    {
        if (blocks.Count == 0)
        {
            return;
        }

        if (turns.Count > 0 && turns[^1].Role == role)
        {
            var merged = turns[^1].Blocks;
            merged.AddRange(blocks);

            // In a user turn, tool results must come before anything else.
            if (role == "user" && merged.Exists(b => b.Kind == BlockKind.ToolResult))
            {
                var ordered = merged.Where(b => b.Kind == BlockKind.ToolResult).Concat(merged.Where(b => b.Kind != BlockKind.ToolResult)).ToList();
                merged.Clear();
                merged.AddRange(ordered);
            }

            return;
        }

        turns.Add(new Turn(role, blocks));
    }

    private static List<Block> ContentBlocks(ChatMessage message, ChatDeployment deployment)
    {
        var blocks = new List<Block>();
        if (message.ContentParts is { ValueKind: JsonValueKind.Array } parts)
        {
            foreach (var part in parts.EnumerateArray())
            {
                var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type"u8, out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                switch (type)
                {
                    case "text":
                        if (part.TryGetProperty("text"u8, out var text) && text.ValueKind == JsonValueKind.String && text.GetString() is { Length: > 0 } value)
                        {
                            blocks.Add(new Block(BlockKind.Text, value));
                        }

                        break;
                    case "image_url" when part.TryGetProperty("image_url"u8, out var image) && image.ValueKind == JsonValueKind.Object:
                        blocks.Add(new Block(BlockKind.Image, Json: image));
                        break;
                    default:
                        throw new ProviderException(deployment.Provider,
                            $"{deployment.Provider} (anthropic) cannot take content part '{ProviderHttp.Clean(type ?? "?", deployment)}'.", null, isTransient: false);
                }
            }
        }
        else if (!string.IsNullOrEmpty(message.Content))
        {
            blocks.Add(new Block(BlockKind.Text, message.Content));
        }

        return blocks;
    }

    /// <summary>An OpenAI tool call ({id, type, function: {name, arguments}}) as a tool_use block.</summary>
    private static Block ToolUse(JsonElement toolCall, ChatDeployment deployment)
    {
        if (toolCall.ValueKind != JsonValueKind.Object
            || !toolCall.TryGetProperty("function"u8, out var function) || function.ValueKind != JsonValueKind.Object
            || !function.TryGetProperty("name"u8, out var name) || name.ValueKind != JsonValueKind.String)
        {
            throw new ProviderException(deployment.Provider, $"{deployment.Provider} (anthropic): an assistant tool call has no function name.", null, isTransient: false);
        }

        var id = toolCall.TryGetProperty("id"u8, out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
        var arguments = function.TryGetProperty("arguments"u8, out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        JsonElement input;
        if (string.IsNullOrWhiteSpace(arguments))
        {
            input = EmptyObject();
        }
        else
        {
            try
            {
                var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(arguments));
                input = JsonElement.ParseValue(ref reader);
            }
            catch (JsonException)
            {
                input = default;
            }

            if (input.ValueKind != JsonValueKind.Object)
            {
                throw new ProviderException(deployment.Provider,
                    $"{deployment.Provider} (anthropic): the arguments of tool call '{ProviderHttp.Clean(name.GetString()!, deployment)}' are not a JSON object.", null, isTransient: false);
            }
        }

        return new Block(BlockKind.ToolUse, Id: id ?? string.Empty, Name: name.GetString(), Json: input);
    }

    private static JsonElement EmptyObject()
    {
        var reader = new Utf8JsonReader("{}"u8);
        return JsonElement.ParseValue(ref reader);
    }

    private static void WriteBlock(Utf8JsonWriter json, Block block)
    {
        json.WriteStartObject();
        switch (block.Kind)
        {
            case BlockKind.Text:
                json.WriteString("type"u8, "text"u8);
                json.WriteString("text"u8, block.Text);
                break;
            case BlockKind.Image:
                json.WriteString("type"u8, "image"u8);
                json.WriteStartObject("source"u8);
                var url = block.Json.TryGetProperty("url"u8, out var u) && u.ValueKind == JsonValueKind.String ? u.GetString()! : string.Empty;
                if (TrySplitDataUrl(url, out var mediaType, out var data))
                {
                    json.WriteString("type"u8, "base64"u8);
                    json.WriteString("media_type"u8, mediaType);
                    json.WriteString("data"u8, data);
                }
                else
                {
                    json.WriteString("type"u8, "url"u8);
                    json.WriteString("url"u8, url);
                }

                json.WriteEndObject();
                break;
            case BlockKind.ToolUse:
                json.WriteString("type"u8, "tool_use"u8);
                json.WriteString("id"u8, block.Id);
                json.WriteString("name"u8, block.Name);
                json.WritePropertyName("input"u8);
                block.Json.WriteTo(json);
                break;
            case BlockKind.ToolResult:
                json.WriteString("type"u8, "tool_result"u8);
                json.WriteString("tool_use_id"u8, block.Id);
                if (!string.IsNullOrEmpty(block.Text))
                {
                    json.WriteString("content"u8, block.Text);
                }

                break;
        }

        json.WriteEndObject();
    }

    /// <summary>"data:image/png;base64,AAAA" → ("image/png", "AAAA").</summary>
    private static bool TrySplitDataUrl(string url, out ReadOnlySpan<char> mediaType, out ReadOnlySpan<char> data)
    {
        mediaType = default;
        data = default;
        var span = url.AsSpan();
        if (!span.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var comma = span.IndexOf(',');
        var marker = span.IndexOf(";base64", StringComparison.OrdinalIgnoreCase);
        if (comma < 0 || marker < 0 || marker > comma)
        {
            return false;
        }

        mediaType = span[5..marker];
        data = span[(comma + 1)..];
        return true;
    }

    /// <summary>OpenAI function tools as Anthropic tools; false when there are none (then tool_choice is not sent).</summary>
    private static bool WriteTools(Utf8JsonWriter json, JsonElement? tools)
    {
        if (tools is not { ValueKind: JsonValueKind.Array } array || array.GetArrayLength() == 0)
        {
            return false;
        }

        var any = false;
        foreach (var tool in array.EnumerateArray())
        {
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("function"u8, out var function) || function.ValueKind != JsonValueKind.Object
                || !function.TryGetProperty("name"u8, out var name) || name.ValueKind != JsonValueKind.String)
            {
                continue;
            }

            if (!any)
            {
                json.WriteStartArray("tools"u8);
                any = true;
            }

            json.WriteStartObject();
            json.WriteString("name"u8, name.GetString());
            if (function.TryGetProperty("description"u8, out var description) && description.ValueKind == JsonValueKind.String)
            {
                json.WriteString("description"u8, description.GetString());
            }

            json.WritePropertyName("input_schema"u8);
            if (function.TryGetProperty("parameters"u8, out var parameters) && parameters.ValueKind == JsonValueKind.Object)
            {
                parameters.WriteTo(json);
            }
            else
            {
                json.WriteStartObject();
                json.WriteString("type"u8, "object"u8);
                json.WriteStartObject("properties"u8);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        if (any)
        {
            json.WriteEndArray();
        }

        return any;
    }

    /// <summary>auto → auto, none → none, required → any, {function: {name}} → {type: tool, name}.</summary>
    private static void WriteToolChoice(Utf8JsonWriter json, JsonElement? choice)
    {
        if (choice is not { } value)
        {
            return;
        }

        string? type = null;
        string? name = null;
        if (value.ValueKind == JsonValueKind.String)
        {
            type = value.GetString() switch
            {
                "auto" => "auto",
                "none" => "none",
                "required" => "any",
                _ => null,
            };
        }
        else if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("function"u8, out var function) && function.ValueKind == JsonValueKind.Object
            && function.TryGetProperty("name"u8, out var n) && n.ValueKind == JsonValueKind.String)
        {
            type = "tool";
            name = n.GetString();
        }

        if (type is null)
        {
            return;
        }

        json.WriteStartObject("tool_choice"u8);
        json.WriteString("type"u8, type);
        if (name is not null)
        {
            json.WriteString("name"u8, name);
        }

        json.WriteEndObject();
    }

    // ---- Response translation ----

    /// <summary>A Messages API message as a completion.</summary>
    internal static ChatCompletion ParseMessage(JsonElement root, ChatDeployment deployment)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("content"u8, out var content) || content.ValueKind != JsonValueKind.Array)
        {
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error"u8, out _))
            {
                throw UpstreamError(root, deployment);
            }

            throw ProviderHttp.Malformed(deployment, "a body that is not a message (no content array)");
        }

        try
        {
            StringBuilder? text = null;
            ArrayBufferWriter<byte>? toolBuffer = null;
            Utf8JsonWriter? tools = null;
            foreach (var block in content.EnumerateArray())
            {
                var type = block.TryGetProperty("type"u8, out var t) ? t.GetString() : null;
                if (type == "text" && block.TryGetProperty("text"u8, out var value))
                {
                    (text ??= new StringBuilder()).Append(value.GetString());
                }
                else if (type == "tool_use")
                {
                    if (tools is null)
                    {
                        toolBuffer = new ArrayBufferWriter<byte>(256);
                        tools = new Utf8JsonWriter(toolBuffer, ProviderHttp.WriterOptions);
                        tools.WriteStartArray();
                    }

                    tools.WriteStartObject();
                    tools.WriteString("id"u8, block.GetProperty("id"u8).GetString());
                    tools.WriteString("type"u8, "function"u8);
                    tools.WriteStartObject("function"u8);
                    tools.WriteString("name"u8, block.GetProperty("name"u8).GetString());
                    tools.WriteString("arguments"u8, block.TryGetProperty("input"u8, out var input) ? input.GetRawText() : "{}");
                    tools.WriteEndObject();
                    tools.WriteEndObject();
                }
            }

            JsonElement? toolCalls = null;
            if (tools is not null)
            {
                tools.WriteEndArray();
                tools.Flush();
                tools.Dispose();
                var reader = new Utf8JsonReader(toolBuffer!.WrittenSpan);
                toolCalls = JsonElement.ParseValue(ref reader);
            }

            var stopReason = root.TryGetProperty("stop_reason"u8, out var stop) && stop.ValueKind == JsonValueKind.String ? stop.GetString() : null;
            TokenUsage? usage = null;
            if (root.TryGetProperty("usage"u8, out var u) && u.ValueKind == JsonValueKind.Object)
            {
                usage = new TokenUsage(InputTokens(u), u.TryGetProperty("output_tokens"u8, out var output) && output.TryGetInt32(out var count) ? count : 0);
            }

            return new ChatCompletion(text?.ToString(), FinishReason(stopReason, toolCalls is not null), usage, toolCalls);
        }
        catch (Exception exception) when (exception is InvalidOperationException or KeyNotFoundException)
        {
            throw ProviderHttp.Malformed(deployment, "a message of unexpected shape", exception);
        }
    }

    /// <summary>end_turn/stop_sequence → stop, max_tokens → length, tool_use → tool_calls, refusal → content_filter.</summary>
    internal static string FinishReason(string? stopReason, bool hasToolCalls) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => FinishReasons.Length,
        "tool_use" => FinishReasons.ToolCalls,
        "refusal" => FinishReasons.ContentFilter,
        null when hasToolCalls => FinishReasons.ToolCalls,
        _ => FinishReasons.Stop,
    };

    /// <summary>Input tokens as OpenAI counts them: Anthropic's input_tokens leave out cache reads and writes.</summary>
    private static int InputTokens(JsonElement usage)
    {
        var total = 0;
        foreach (var name in (ReadOnlySpan<string>)["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"])
        {
            if (usage.TryGetProperty(name, out var value) && value.TryGetInt32(out var count))
            {
                total += count;
            }
        }

        return total;
    }

    private sealed class StreamState
    {
        public int InputTokens { get; set; }

        public int OutputTokens { get; set; }

        public string? FinishReason { get; set; }

        public bool Stopped { get; set; }

        public int ToolCalls { get; set; }

        /// <summary>Content block index → OpenAI tool call index, for tool_use blocks.</summary>
        public Dictionary<int, int> ToolIndexes { get; } = [];
    }

    /// <summary>One event of a Messages stream: the delta it adds (null for none); the rest goes into the state.</summary>
    private static ChatDelta? ParseEvent(ReadOnlyMemory<byte> data, ChatDeployment deployment, StreamState state)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(data);
        }
        catch (JsonException exception)
        {
            throw ProviderHttp.Malformed(deployment, "a stream event that is not JSON", exception);
        }

        using (document)
        {
            var root = document.RootElement;
            try
            {
                var type = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type"u8, out var t) ? t.GetString() : null;
                switch (type)
                {
                    case "message_start":
                        if (root.GetProperty("message"u8).TryGetProperty("usage"u8, out var startUsage) && startUsage.ValueKind == JsonValueKind.Object)
                        {
                            state.InputTokens = InputTokens(startUsage);
                            if (startUsage.TryGetProperty("output_tokens"u8, out var output) && output.TryGetInt32(out var count))
                            {
                                state.OutputTokens = count;
                            }
                        }

                        return null;
                    case "content_block_start":
                        return BlockStart(root, state);
                    case "content_block_delta":
                        return BlockDelta(root, state);
                    case "message_delta":
                        if (root.TryGetProperty("delta"u8, out var delta) && delta.TryGetProperty("stop_reason"u8, out var stop) && stop.ValueKind == JsonValueKind.String)
                        {
                            state.FinishReason = FinishReason(stop.GetString(), state.ToolCalls > 0);
                        }

                        if (root.TryGetProperty("usage"u8, out var usage) && usage.ValueKind == JsonValueKind.Object)
                        {
                            if (usage.TryGetProperty("output_tokens"u8, out var output) && output.TryGetInt32(out var count))
                            {
                                state.OutputTokens = count;
                            }

                            // Newer API versions repeat the (final) input count here.
                            if (usage.TryGetProperty("input_tokens"u8, out var input) && input.ValueKind == JsonValueKind.Number)
                            {
                                state.InputTokens = InputTokens(usage);
                            }
                        }

                        return null;
                    case "message_stop":
                        state.FinishReason ??= FinishReasons.Stop;
                        state.Stopped = true;
                        return null;
                    case "error":
                        throw UpstreamError(root, deployment);
                    case null:
                        throw ProviderHttp.Malformed(deployment, "a stream event without a type");
                    default:
                        // ping, content_block_stop, and event types added later.
                        return null;
                }
            }
            catch (Exception exception) when (exception is InvalidOperationException or KeyNotFoundException)
            {
                throw ProviderHttp.Malformed(deployment, "a stream event of unexpected shape", exception);
            }
        }
    }

    private static ChatDelta? BlockStart(JsonElement root, StreamState state)
    {
        var block = root.GetProperty("content_block"u8);
        var type = block.GetProperty("type"u8).GetString();
        if (type == "text")
        {
            return block.TryGetProperty("text"u8, out var text) && text.GetString() is { Length: > 0 } value ? new ChatDelta(value) : null;
        }

        if (type != "tool_use")
        {
            return null;
        }

        var index = state.ToolCalls++;
        state.ToolIndexes[root.GetProperty("index"u8).GetInt32()] = index;
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(buffer, ProviderHttp.WriterOptions))
        {
            json.WriteStartArray();
            json.WriteStartObject();
            json.WriteNumber("index"u8, index);
            json.WriteString("id"u8, block.GetProperty("id"u8).GetString());
            json.WriteString("type"u8, "function"u8);
            json.WriteStartObject("function"u8);
            json.WriteString("name"u8, block.GetProperty("name"u8).GetString());

            // The input comes as input_json_delta fragments; a block that starts with its whole input is sent now.
            var arguments = block.TryGetProperty("input"u8, out var input) && input.ValueKind == JsonValueKind.Object && input.EnumerateObject().Any()
                ? input.GetRawText()
                : string.Empty;
            json.WriteString("arguments"u8, arguments);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndArray();
        }

        return new ChatDelta(ToolCalls: Parse(buffer));
    }

    private static ChatDelta? BlockDelta(JsonElement root, StreamState state)
    {
        var delta = root.GetProperty("delta"u8);
        switch (delta.GetProperty("type"u8).GetString())
        {
            case "text_delta":
                return delta.GetProperty("text"u8).GetString() is { Length: > 0 } text ? new ChatDelta(text) : null;
            case "input_json_delta":
                var fragment = delta.GetProperty("partial_json"u8).GetString();
                if (string.IsNullOrEmpty(fragment) || !state.ToolIndexes.TryGetValue(root.GetProperty("index"u8).GetInt32(), out var index))
                {
                    return null;
                }

                var buffer = new ArrayBufferWriter<byte>(64 + fragment.Length);
                using (var json = new Utf8JsonWriter(buffer, ProviderHttp.WriterOptions))
                {
                    json.WriteStartArray();
                    json.WriteStartObject();
                    json.WriteNumber("index"u8, index);
                    json.WriteStartObject("function"u8);
                    json.WriteString("arguments"u8, fragment);
                    json.WriteEndObject();
                    json.WriteEndObject();
                    json.WriteEndArray();
                }

                return new ChatDelta(ToolCalls: Parse(buffer));
            default:
                // thinking_delta, signature_delta, citations_delta: not part of the OpenAI answer.
                return null;
        }
    }

    private static JsonElement Parse(ArrayBufferWriter<byte> buffer)
    {
        var reader = new Utf8JsonReader(buffer.WrittenSpan);
        return JsonElement.ParseValue(ref reader);
    }

    /// <summary>{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}} in a 2xx answer or a stream.</summary>
    private static ProviderException UpstreamError(JsonElement root, ChatDeployment deployment)
    {
        var message = ProviderHttp.ErrorMessage(root) ?? "no error message";
        var type = root.TryGetProperty("error"u8, out var error) && error.ValueKind == JsonValueKind.Object
            && error.TryGetProperty("type"u8, out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        var transient = type is "overloaded_error" or "api_error" or "rate_limit_error" or "timeout_error";
        var detail = type is null ? ProviderHttp.Clean(message, deployment) : $"{ProviderHttp.Clean(message, deployment)} ({ProviderHttp.Clean(type, deployment)})";
        return new ProviderException(deployment.Provider, $"{deployment.Provider} reported an error: {detail}", null, transient);
    }
}
