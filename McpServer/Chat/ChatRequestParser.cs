using System.Text;
using System.Text.Json;
using SmartHub.McpServer.Providers;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.McpServer.Chat;

/// <summary>
/// Reads an OpenAI chat completions body into a <see cref="ChatRequest"/>, checking every member the hub uses; a problem
/// is a 400 in OpenAI's error shape naming the member (<c>param</c>), as OpenAI answers. Members the hub does not use
/// (logprobs, store, metadata, ...) are ignored, as most OpenAI-compatible servers do, so that SDKs that send them work.
/// </summary>
public static class ChatRequestParser
{
    public const int MaxMessages = 4096;
    public const int MaxStopSequences = 4;
    public const int MaxTools = 128;
    public const int MaxOutputTokens = 1_000_000;

    private static readonly HashSet<string> s_roles = new(StringComparer.Ordinal)
    {
        ChatMessage.System, ChatMessage.Developer, ChatMessage.User, ChatMessage.Assistant, ChatMessage.Tool,
    };

    public static ChatRequest Parse(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("The request body must be a JSON object.", null);
        }

        var model = RequiredString(body, "model", ModelCatalog.MaxModelIdLength + 100);
        if (!body.TryGetProperty("messages", out var messagesElement) || messagesElement.ValueKind != JsonValueKind.Array)
        {
            throw Invalid("'messages' is required and must be an array.", "messages");
        }

        var count = messagesElement.GetArrayLength();
        if (count is 0 or > MaxMessages)
        {
            throw Invalid($"'messages' must hold 1 to {MaxMessages} messages.", "messages");
        }

        var messages = new List<ChatMessage>(count);
        var index = 0;
        foreach (var message in messagesElement.EnumerateArray())
        {
            messages.Add(ParseMessage(message, index++));
        }

        if (body.TryGetProperty("n", out var n) && n.ValueKind != JsonValueKind.Null && !(n.TryGetInt32(out var choices) && choices == 1))
        {
            throw Invalid("Only n = 1 is supported.", "n");
        }

        var stream = OptionalBool(body, "stream") ?? false;
        var includeUsage = false;
        if (body.TryGetProperty("stream_options", out var streamOptions) && streamOptions.ValueKind != JsonValueKind.Null)
        {
            if (!stream)
            {
                throw Invalid("'stream_options' is only allowed when 'stream' is true.", "stream_options");
            }

            if (streamOptions.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("'stream_options' must be an object.", "stream_options");
            }

            includeUsage = OptionalBool(streamOptions, "include_usage", "stream_options.include_usage") ?? false;
        }

        var maxTokens = OptionalInt(body, "max_completion_tokens", 1, MaxOutputTokens) ?? OptionalInt(body, "max_tokens", 1, MaxOutputTokens);
        var tools = OptionalTools(body);
        var toolChoice = OptionalToolChoice(body, tools is not null);
        return new ChatRequest(
            Model: model,
            Messages: messages,
            Temperature: OptionalNumber(body, "temperature", 0, 2),
            TopP: OptionalNumber(body, "top_p", 0, 1),
            MaxTokens: maxTokens,
            Stop: OptionalStop(body),
            Stream: stream,
            IncludeUsage: includeUsage,
            User: OptionalString(body, "user", 256),
            Tools: tools,
            ToolChoice: toolChoice,
            Seed: OptionalLong(body, "seed"),
            PresencePenalty: OptionalNumber(body, "presence_penalty", -2, 2),
            FrequencyPenalty: OptionalNumber(body, "frequency_penalty", -2, 2),
            ResponseFormat: OptionalObject(body, "response_format"));
    }

    private static ChatMessage ParseMessage(JsonElement message, int index)
    {
        var where = $"messages[{index}]";
        if (message.ValueKind != JsonValueKind.Object)
        {
            throw Invalid($"'{where}' must be an object.", where);
        }

        if (!message.TryGetProperty("role", out var roleElement) || roleElement.ValueKind != JsonValueKind.String || !s_roles.Contains(roleElement.GetString()!))
        {
            throw Invalid($"'{where}.role' must be one of system, developer, user, assistant, tool.", $"{where}.role");
        }

        var role = roleElement.GetString()!;
        string? content = null;
        JsonElement? parts = null;
        if (message.TryGetProperty("content", out var contentElement))
        {
            switch (contentElement.ValueKind)
            {
                case JsonValueKind.String:
                    content = contentElement.GetString();
                    break;
                case JsonValueKind.Array:
                    content = JoinTextParts(contentElement, where);
                    parts = contentElement.Clone();
                    break;
                case JsonValueKind.Null:
                    break;
                default:
                    throw Invalid($"'{where}.content' must be a string, an array of content parts or null.", $"{where}.content");
            }
        }

        JsonElement? toolCalls = null;
        if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind != JsonValueKind.Null)
        {
            if (role != ChatMessage.Assistant || calls.ValueKind != JsonValueKind.Array)
            {
                throw Invalid($"'{where}.tool_calls' must be an array, on an assistant message.", $"{where}.tool_calls");
            }

            foreach (var call in calls.EnumerateArray())
            {
                if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String
                    || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object
                    || !function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                {
                    throw Invalid($"'{where}.tool_calls' entries need an id and a function with a name.", $"{where}.tool_calls");
                }
            }

            toolCalls = calls.Clone();
        }

        string? toolCallId = null;
        if (role == ChatMessage.Tool)
        {
            toolCallId = OptionalString(message, "tool_call_id", 256, $"{where}.tool_call_id")
                ?? throw Invalid($"'{where}.tool_call_id' is required on a tool message.", $"{where}.tool_call_id");
        }

        if (content is null && parts is null && toolCalls is null)
        {
            throw Invalid($"'{where}.content' is required (it may be null only on an assistant message with tool_calls).", $"{where}.content");
        }

        return new ChatMessage(role, content, parts, OptionalString(message, "name", 256, $"{where}.name"), toolCalls, toolCallId);
    }

    private static string JoinTextParts(JsonElement parts, string where)
    {
        var text = new StringBuilder();
        foreach (var part in parts.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                throw Invalid($"'{where}.content' parts must be objects with a type.", $"{where}.content");
            }

            if (type.ValueEquals("text"))
            {
                if (!part.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String)
                {
                    throw Invalid($"'{where}.content' text parts need a string 'text'.", $"{where}.content");
                }

                text.Append(value.GetString());
            }
        }

        return text.ToString();
    }

    private static JsonElement? OptionalTools(JsonElement body)
    {
        if (!body.TryGetProperty("tools", out var tools) || tools.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (tools.ValueKind != JsonValueKind.Array || tools.GetArrayLength() > MaxTools)
        {
            throw Invalid($"'tools' must be an array of at most {MaxTools} tools.", "tools");
        }

        foreach (var tool in tools.EnumerateArray())
        {
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out var type) || !type.ValueEquals("function")
                || !tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object
                || !function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || name.GetString()!.Length is 0 or > 64)
            {
                throw Invalid("Each tool must be {\"type\": \"function\", \"function\": {\"name\": 1-64 characters, ...}}.", "tools");
            }
        }

        return tools.GetArrayLength() == 0 ? null : tools.Clone();
    }

    private static JsonElement? OptionalToolChoice(JsonElement body, bool hasTools)
    {
        if (!body.TryGetProperty("tool_choice", out var choice) || choice.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var valid = choice.ValueKind switch
        {
            JsonValueKind.String => choice.ValueEquals("none") || choice.ValueEquals("auto") || choice.ValueEquals("required"),
            JsonValueKind.Object => choice.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object
                && function.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String,
            _ => false,
        };
        if (!valid)
        {
            throw Invalid("'tool_choice' must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}.", "tool_choice");
        }

        if (!hasTools && !choice.ValueEquals("none"))
        {
            throw Invalid("'tool_choice' is only allowed when 'tools' are given.", "tool_choice");
        }

        return choice.Clone();
    }

    private static List<string>? OptionalStop(JsonElement body)
    {
        if (!body.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (stop.ValueKind == JsonValueKind.String)
        {
            return stop.GetString() is { Length: > 0 } one ? [one] : throw Invalid("'stop' must not be empty.", "stop");
        }

        if (stop.ValueKind != JsonValueKind.Array || stop.GetArrayLength() > MaxStopSequences)
        {
            throw Invalid($"'stop' must be a string or an array of at most {MaxStopSequences} strings.", "stop");
        }

        var list = new List<string>();
        foreach (var item in stop.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || item.GetString() is not { Length: > 0 and <= 256 } value)
            {
                throw Invalid("'stop' sequences must be strings of 1 to 256 characters.", "stop");
            }

            list.Add(value);
        }

        return list.Count == 0 ? null : list;
    }

    private static string RequiredString(JsonElement body, string name, int maxLength) =>
        OptionalString(body, name, maxLength) ?? throw Invalid($"'{name}' is required.", name);

    private static string? OptionalString(JsonElement body, string name, int maxLength, string? param = null)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } text || text.Length > maxLength)
        {
            throw Invalid($"'{param ?? name}' must be a string of 1 to {maxLength} characters.", param ?? name);
        }

        return text;
    }

    private static bool? OptionalBool(JsonElement body, string name, string? param = null)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid($"'{param ?? name}' must be a boolean.", param ?? name),
        };
    }

    private static double? OptionalNumber(JsonElement body, string name, double min, double max)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || number < min || number > max)
        {
            throw Invalid($"'{name}' must be a number from {min} to {max}.", name);
        }

        return number;
    }

    private static int? OptionalInt(JsonElement body, string name, int min, int max)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number) || number < min || number > max)
        {
            throw Invalid($"'{name}' must be a whole number from {min} to {max}.", name);
        }

        return number;
    }

    private static long? OptionalLong(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)
            ? number
            : throw Invalid($"'{name}' must be a whole number.", name);
    }

    private static JsonElement? OptionalObject(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Object ? value.Clone() : throw Invalid($"'{name}' must be an object.", name);
    }

    private static ChatRequestException Invalid(string message, string? param) => new(OpenAiError.Create(message, "invalid_request_error", "invalid_value", param));
}

/// <summary>A request the hub refuses before any work: its OpenAI-shaped error (400).</summary>
public sealed class ChatRequestException(OpenAiError error) : Exception(error.Error.Message)
{
    public OpenAiError Error { get; } = error;
}
