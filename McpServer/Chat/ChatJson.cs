using System.Buffers;
using System.Text.Json;
using SmartHub.McpServer.Providers;

namespace SmartHub.McpServer.Chat;

/// <summary>
/// OpenAI's response shapes written with <see cref="Utf8JsonWriter"/> (no reflection, no intermediate objects: this is
/// the hot path): <c>chat.completion</c> and <c>chat.completion.chunk</c>. SmartHub's own facts ride along in a
/// <c>smarthub</c> member (provider, credits, cache hit, consensus), which OpenAI SDKs ignore.
/// </summary>
public static class ChatJson
{
    public static void WriteCompletion(IBufferWriter<byte> buffer, ChatOutcome outcome, string model)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var completion = outcome.Completion!;
        using var json = new Utf8JsonWriter(buffer);
        json.WriteStartObject();
        json.WriteString("id", outcome.Id);
        json.WriteString("object", "chat.completion");
        json.WriteNumber("created", outcome.Created);
        json.WriteString("model", model);
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("message");
        json.WriteString("role", ChatMessage.Assistant);
        json.WriteString("content", completion.Content);
        json.WriteNull("refusal");
        if (completion.ToolCalls is { } calls)
        {
            json.WritePropertyName("tool_calls");
            calls.WriteTo(json);
        }

        json.WriteEndObject();
        json.WriteNull("logprobs");
        json.WriteString("finish_reason", completion.FinishReason);
        json.WriteEndObject();
        json.WriteEndArray();
        WriteUsage(json, outcome.Usage);
        json.WriteNull("system_fingerprint");
        json.WriteStartObject("smarthub");
        json.WriteString("provider", outcome.Provider);
        json.WriteNumber("credits", outcome.Credits);
        json.WriteBoolean("cache_hit", outcome.CacheHit);
        if (outcome.Consensus is { } consensus)
        {
            WriteConsensus(json, consensus);
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>One chunk: <paramref name="delta"/> (content and/or tool calls), or the role opener, or the finish.</summary>
    public static void WriteChunk(IBufferWriter<byte> buffer, ChatStreamStart start, ChatDelta? delta, bool opener, string? finishReason, bool includeUsage)
    {
        ArgumentNullException.ThrowIfNull(start);
        using var json = new Utf8JsonWriter(buffer);
        WriteChunkHead(json, start);
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("delta");
        if (opener)
        {
            json.WriteString("role", ChatMessage.Assistant);
            json.WriteString("content", string.Empty);
            json.WriteNull("refusal");
        }

        if (delta?.Content is { } content)
        {
            json.WriteString("content", content);
        }

        if (delta?.ToolCalls is { } calls)
        {
            json.WritePropertyName("tool_calls");
            calls.WriteTo(json);
        }

        json.WriteEndObject();
        json.WriteNull("logprobs");
        if (finishReason is null)
        {
            json.WriteNull("finish_reason");
        }
        else
        {
            json.WriteString("finish_reason", finishReason);
        }

        json.WriteEndObject();
        json.WriteEndArray();
        if (includeUsage)
        {
            json.WriteNull("usage");
        }

        json.WriteEndObject();
    }

    /// <summary>The usage chunk OpenAI sends last when <c>stream_options.include_usage</c> is set: empty choices.</summary>
    public static void WriteUsageChunk(IBufferWriter<byte> buffer, ChatStreamStart start, TokenUsage usage)
    {
        ArgumentNullException.ThrowIfNull(start);
        using var json = new Utf8JsonWriter(buffer);
        WriteChunkHead(json, start);
        json.WriteStartArray("choices");
        json.WriteEndArray();
        WriteUsage(json, usage);
        json.WriteEndObject();
    }

    private static void WriteChunkHead(Utf8JsonWriter json, ChatStreamStart start)
    {
        json.WriteStartObject();
        json.WriteString("id", start.Id);
        json.WriteString("object", "chat.completion.chunk");
        json.WriteNumber("created", start.Created);
        json.WriteString("model", start.Model);
        json.WriteNull("system_fingerprint");
    }

    private static void WriteUsage(Utf8JsonWriter json, TokenUsage usage)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", usage.PromptTokens);
        json.WriteNumber("completion_tokens", usage.CompletionTokens);
        json.WriteNumber("total_tokens", usage.TotalTokens);
        json.WriteEndObject();
    }

    private static void WriteConsensus(Utf8JsonWriter json, ConsensusInfo consensus)
    {
        json.WriteStartObject("consensus");
        json.WriteString("strategy", consensus.Strategy);
        json.WriteNumber("agreement", Math.Round(consensus.Agreement, 4));
        json.WriteString("chosen", consensus.Chosen);
        json.WriteStartArray("votes");
        foreach (var vote in consensus.Votes)
        {
            json.WriteStartObject();
            json.WriteString("model", vote.Model);
            json.WriteString("provider", vote.Provider);
            json.WriteNumber("status", vote.Status);
            json.WriteNumber("similarity", Math.Round(vote.Similarity, 4));
            if (vote.Error is not null)
            {
                json.WriteString("error", vote.Error);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }
}
