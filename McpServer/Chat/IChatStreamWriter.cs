using SmartHub.McpServer.Providers;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.McpServer.Chat;

/// <summary>The start of a streamed answer: what the response's headers and every chunk carry.</summary>
public sealed record ChatStreamStart(string Id, long Created, string Model, string Provider, bool CacheHit);

/// <summary>
/// Where <see cref="ChatService.StreamAsync"/> writes a streamed answer (the SSE response of /v1/chat/completions).
/// <see cref="BeginAsync"/> comes once, before anything else, when the answer is known to start; a failure before it is
/// returned as an ordinary error instead.
/// </summary>
public interface IChatStreamWriter
{
    ValueTask BeginAsync(ChatStreamStart start, CancellationToken cancellationToken);

    ValueTask WriteAsync(ChatDelta delta, CancellationToken cancellationToken);

    ValueTask EndAsync(string finishReason, TokenUsage usage, CancellationToken cancellationToken);

    /// <summary>The answer broke off after it began (the upstream failed): an error event ends the stream.</summary>
    ValueTask FailAsync(OpenAiError error, CancellationToken cancellationToken);
}
