using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace SmartHub.McpServer.Providers;

/// <summary>
/// Type <c>openai</c>: any OpenAI-compatible chat completions API (OpenAI, Azure OpenAI, Groq, xAI, Mistral, Ollama,
/// vLLM, ...). POST <c>{BaseUrl}chat/completions[?{Query}]</c>; the key as <c>Authorization: Bearer</c>, or in the
/// deployment's <see cref="ChatDeployment.ApiKeyHeader"/> (Azure: <c>api-key</c>); no key, no header. The request
/// is passed on as the client sent it (messages, content parts, tools and tool calls as OpenAI JSON); only the model
/// (the upstream's name) and the output limit (<c>max_tokens</c>, or the deployment's <see cref="ChatDeployment.MaxTokensField"/>, = <see cref="ChatCall.MaxTokens"/>) are the hub's.
/// Streams ask for the usage chunk (<c>stream_options.include_usage</c>) and end with one delta carrying the finish
/// reason and the upstream's usage.
/// </summary>
public sealed class OpenAiProvider : HttpChatProvider
{
    private const string Path = "chat/completions";

    /// <summary>For the hub: a client of <see cref="ProviderExtensions.HttpClientName"/> per call.</summary>
    public OpenAiProvider(IHttpClientFactory httpClientFactory, TimeProvider timeProvider)
        : base(httpClientFactory, timeProvider)
    {
    }

    /// <summary>With one client for every call (tests, tools).</summary>
    public OpenAiProvider(HttpClient httpClient, TimeProvider timeProvider)
        : base(httpClient, timeProvider)
    {
    }

    public override string Type => "openai";

    public override async Task<ChatCompletion> CompleteAsync(ChatCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        using var request = ProviderHttp.CreateRequest(deployment, Path, WriteBody(call, stream: false), stream: false, "Authorization");
        using var response = await SendAsync(request, deployment, cancellationToken).ConfigureAwait(false);
        using var document = await ReadDocumentAsync(response, deployment, cancellationToken).ConfigureAwait(false);
        return ParseCompletion(document.RootElement, deployment);
    }

    public override async IAsyncEnumerable<ChatDelta> StreamAsync(ChatCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        using var request = ProviderHttp.CreateRequest(deployment, Path, WriteBody(call, stream: true), stream: true, "Authorization");
        using var response = await SendAsync(request, deployment, cancellationToken).ConfigureAwait(false);

        // A server that cannot stream (or ignores "stream") answers with a whole completion: it is one delta then.
        if (response.Content.Headers.ContentType?.MediaType is "application/json")
        {
            using var document = await ReadDocumentAsync(response, deployment, cancellationToken).ConfigureAwait(false);
            var completion = ParseCompletion(document.RootElement, deployment);
            yield return new ChatDelta(completion.Content, completion.FinishReason, completion.Usage, completion.ToolCalls);
            yield break;
        }

        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = body.ConfigureAwait(false);
        var events = new SseReader(body);
        await using var __ = events.ConfigureAwait(false);

        string? finishReason = null;
        TokenUsage? usage = null;
        while (await ProviderHttp.NextEventAsync(events, deployment, cancellationToken).ConfigureAwait(false))
        {
            if (events.Data.Span.SequenceEqual("[DONE]"u8))
            {
                break;
            }

            var delta = ParseChunk(events.Data, deployment, ref finishReason, ref usage);
            if (delta is not null)
            {
                yield return delta;
            }
        }

        // [DONE] or the end of the body: complete only if the upstream said why it stopped.
        if (finishReason is null)
        {
            throw new ProviderException(deployment.Provider, $"{deployment.Provider} ended the stream before the answer was finished.", null, isTransient: true);
        }

        yield return new ChatDelta(FinishReason: finishReason, Usage: usage);
    }

    /// <summary>The request body, written field by field (no reflection); null fields are left out.</summary>
    internal static ArrayBufferWriter<byte> WriteBody(ChatCall call, bool stream)
    {
        var request = call.Request;
        var buffer = new ArrayBufferWriter<byte>(1024);
        using var json = new Utf8JsonWriter(buffer, ProviderHttp.WriterOptions);
        json.WriteStartObject();
        json.WriteString("model"u8, call.Deployment.UpstreamModel);
        json.WriteStartArray("messages"u8);
        foreach (var message in request.Messages)
        {
            json.WriteStartObject();
            json.WriteString("role"u8, message.Role);
            if (message.ContentParts is { } parts)
            {
                json.WritePropertyName("content"u8);
                parts.WriteTo(json);
            }
            else if (message.Content is not null)
            {
                json.WriteString("content"u8, message.Content);
            }

            if (message.Name is not null)
            {
                json.WriteString("name"u8, message.Name);
            }

            if (message.ToolCalls is { } toolCalls)
            {
                json.WritePropertyName("tool_calls"u8);
                toolCalls.WriteTo(json);
            }

            if (message.ToolCallId is not null)
            {
                json.WriteString("tool_call_id"u8, message.ToolCallId);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        WriteNumber(json, "temperature"u8, request.Temperature);
        WriteNumber(json, "top_p"u8, request.TopP);
        json.WriteNumber(call.Deployment.MaxTokensField, call.MaxTokens);
        if (request.Stop is { Count: > 0 } stop)
        {
            json.WriteStartArray("stop"u8);
            foreach (var sequence in stop)
            {
                json.WriteStringValue(sequence);
            }

            json.WriteEndArray();
        }

        WriteElement(json, "tools"u8, request.Tools);
        WriteElement(json, "tool_choice"u8, request.ToolChoice);
        if (request.Seed is { } seed)
        {
            json.WriteNumber("seed"u8, seed);
        }

        WriteNumber(json, "presence_penalty"u8, request.PresencePenalty);
        WriteNumber(json, "frequency_penalty"u8, request.FrequencyPenalty);
        WriteElement(json, "response_format"u8, request.ResponseFormat);
        if (request.User is not null)
        {
            json.WriteString("user"u8, request.User);
        }

        if (stream)
        {
            json.WriteBoolean("stream"u8, true);
            if (call.Deployment.StreamUsage)
            {
                json.WriteStartObject("stream_options"u8);
                json.WriteBoolean("include_usage"u8, true);
                json.WriteEndObject();
            }
        }

        json.WriteEndObject();
        json.Flush();
        return buffer;
    }

    private static void WriteNumber(Utf8JsonWriter json, ReadOnlySpan<byte> name, double? value)
    {
        if (value is { } number)
        {
            json.WriteNumber(name, number);
        }
    }

    private static void WriteElement(Utf8JsonWriter json, ReadOnlySpan<byte> name, JsonElement? value)
    {
        if (value is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } element)
        {
            json.WritePropertyName(name);
            element.WriteTo(json);
        }
    }

    private static async Task<JsonDocument> ReadDocumentAsync(HttpResponseMessage response, ChatDeployment deployment, CancellationToken cancellationToken)
    {
        try
        {
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                return await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken).ConfigureAwait(false);
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
    }

    /// <summary>A chat.completion: the first choice's message, finish reason and the usage.</summary>
    internal static ChatCompletion ParseCompletion(JsonElement root, ChatDeployment deployment)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw ProviderHttp.Malformed(deployment, "a body that is not a chat completion");
        }

        // Some compatible servers answer 200 with an error object.
        if (root.TryGetProperty("error", out var error) && error.ValueKind is JsonValueKind.Object or JsonValueKind.String)
        {
            throw UpstreamError(root, deployment);
        }

        if (!root.TryGetProperty("choices"u8, out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0
            || !choices[0].TryGetProperty("message"u8, out var message) || message.ValueKind != JsonValueKind.Object)
        {
            throw ProviderHttp.Malformed(deployment, "a chat completion without choices[0].message");
        }

        try
        {
            var content = message.TryGetProperty("content"u8, out var text) && text.ValueKind == JsonValueKind.String ? text.GetString() : null;
            JsonElement? toolCalls = message.TryGetProperty("tool_calls"u8, out var calls) && calls.ValueKind == JsonValueKind.Array && calls.GetArrayLength() > 0
                ? calls.Clone()
                : null;
            var finish = choices[0].TryGetProperty("finish_reason"u8, out var reason) && reason.ValueKind == JsonValueKind.String
                ? reason.GetString()!
                : toolCalls is null ? FinishReasons.Stop : FinishReasons.ToolCalls;
            return new ChatCompletion(content, finish, ParseUsage(root), toolCalls);
        }
        catch (InvalidOperationException exception)
        {
            throw ProviderHttp.Malformed(deployment, "a chat completion of unexpected shape", exception);
        }
    }

    /// <summary>
    /// One chat.completion.chunk: the text or tool call fragments it adds (null when it adds none), its finish reason
    /// and usage (kept for the last delta).
    /// </summary>
    internal static ChatDelta? ParseChunk(ReadOnlyMemory<byte> data, ChatDeployment deployment, ref string? finishReason, ref TokenUsage? usage)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(data);
        }
        catch (JsonException exception)
        {
            throw ProviderHttp.Malformed(deployment, "a stream chunk that is not JSON", exception);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw ProviderHttp.Malformed(deployment, "a stream chunk that is not a JSON object");
            }

            // OpenAI reports a failure during a stream as a chunk with an error object.
            if (root.TryGetProperty("error"u8, out var error) && error.ValueKind is JsonValueKind.Object or JsonValueKind.String)
            {
                throw UpstreamError(root, deployment);
            }

            try
            {
                usage = ParseUsage(root) ?? usage;
                if (!root.TryGetProperty("choices"u8, out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
                {
                    return null;
                }

                var choice = choices[0];
                if (choice.TryGetProperty("finish_reason"u8, out var reason) && reason.ValueKind == JsonValueKind.String)
                {
                    finishReason = reason.GetString();
                }

                if (!choice.TryGetProperty("delta"u8, out var delta) || delta.ValueKind != JsonValueKind.Object)
                {
                    return null;
                }

                var content = delta.TryGetProperty("content"u8, out var text) && text.ValueKind == JsonValueKind.String ? text.GetString() : null;
                JsonElement? toolCalls = delta.TryGetProperty("tool_calls"u8, out var calls) && calls.ValueKind == JsonValueKind.Array && calls.GetArrayLength() > 0
                    ? calls.Clone()
                    : null;
                return string.IsNullOrEmpty(content) && toolCalls is null ? null : new ChatDelta(content, ToolCalls: toolCalls);
            }
            catch (InvalidOperationException exception)
            {
                throw ProviderHttp.Malformed(deployment, "a stream chunk of unexpected shape", exception);
            }
        }
    }

    private static TokenUsage? ParseUsage(JsonElement root) =>
        root.TryGetProperty("usage"u8, out var usage) && usage.ValueKind == JsonValueKind.Object
        && usage.TryGetProperty("prompt_tokens"u8, out var prompt) && prompt.TryGetInt32(out var promptTokens)
            ? new TokenUsage(promptTokens, usage.TryGetProperty("completion_tokens"u8, out var completion) && completion.TryGetInt32(out var completionTokens) ? completionTokens : 0)
            : null;

    /// <summary>An error reported inside a 2xx answer (a body or a stream chunk): not worth retrying as such.</summary>
    private static ProviderException UpstreamError(JsonElement root, ChatDeployment deployment)
    {
        var message = ProviderHttp.ErrorMessage(root) ?? "no error message";
        var code = root.TryGetProperty("error"u8, out var error) && error.ValueKind == JsonValueKind.Object
            && error.TryGetProperty("code"u8, out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out var number)
                ? number
                : (int?)null;
        var transient = code is { } status && ProviderException.IsTransientStatus(status)
            || (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("type"u8, out var type) && type.ValueKind == JsonValueKind.String
                && type.GetString() is "server_error" or "rate_limit_error" or "overloaded_error" or "api_error");
        return new ProviderException(deployment.Provider, $"{deployment.Provider} reported an error: {ProviderHttp.Clean(message, deployment)}", null, transient);
    }
}
