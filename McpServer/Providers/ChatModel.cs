using System.Text.Json;

namespace SmartHub.McpServer.Providers;

// The hub's own model of a chat call, between the OpenAI-compatible API (which parses and validates requests into it)
// and the providers (which translate it to their wire protocol). Tools, tool choice, tool calls and multi-part content
// are carried as the client sent them (OpenAI's JSON), because OpenAI-compatible providers take them as they are and the
// Anthropic provider translates them.

/// <summary>
/// One message. <see cref="Content"/> is its text (the text parts joined when the client sent an array of parts);
/// <see cref="ContentParts"/> the array itself when it was one (images, ...). <see cref="ToolCalls"/> is an assistant
/// message's <c>tool_calls</c> array; <see cref="ToolCallId"/> the id a <c>tool</c> message answers.
/// </summary>
public sealed record ChatMessage(
    string Role,
    string? Content,
    JsonElement? ContentParts = null,
    string? Name = null,
    JsonElement? ToolCalls = null,
    string? ToolCallId = null)
{
    public const string System = "system";
    public const string Developer = "developer";
    public const string User = "user";
    public const string Assistant = "assistant";
    public const string Tool = "tool";
}

/// <summary>
/// A validated chat request. <see cref="MaxTokens"/> is what the caller asked for (null: the model's default);
/// <see cref="ChatCall.MaxTokens"/> is what a provider is allowed to produce.
/// </summary>
public sealed record ChatRequest(
    string Model,
    IReadOnlyList<ChatMessage> Messages,
    double? Temperature = null,
    double? TopP = null,
    int? MaxTokens = null,
    IReadOnlyList<string>? Stop = null,
    bool Stream = false,
    bool IncludeUsage = false,
    string? User = null,
    JsonElement? Tools = null,
    JsonElement? ToolChoice = null,
    long? Seed = null,
    double? PresencePenalty = null,
    double? FrequencyPenalty = null,
    JsonElement? ResponseFormat = null);

/// <summary>What one provider call is asked: the request, the deployment that serves it, and the output limit.</summary>
public sealed record ChatCall(ChatRequest Request, ChatDeployment Deployment, int MaxTokens);

public readonly record struct TokenUsage(int PromptTokens, int CompletionTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>
/// A whole answer. <see cref="Usage"/> is the provider's own count when it reports one (null: the hub counts);
/// <see cref="ToolCalls"/> OpenAI's <c>tool_calls</c> array.
/// </summary>
public sealed record ChatCompletion(string? Content, string FinishReason, TokenUsage? Usage, JsonElement? ToolCalls = null);

/// <summary>
/// One piece of a streamed answer: text, tool call fragments (OpenAI's delta <c>tool_calls</c> array), the finish
/// reason (last), and the provider's token count when it reports one (usually with or after the last piece).
/// </summary>
public sealed record ChatDelta(string? Content = null, string? FinishReason = null, TokenUsage? Usage = null, JsonElement? ToolCalls = null);

public static class FinishReasons
{
    public const string Stop = "stop";
    public const string Length = "length";
    public const string ToolCalls = "tool_calls";
    public const string ContentFilter = "content_filter";
}
