using System.Security.Claims;
using SmartHub.McpServer.Providers;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.McpServer.Chat;

/// <summary>
/// A finished non-streaming chat call: the answer, who served it, its token counts and what it cost. Either
/// <see cref="Completion"/> is set, or <see cref="Error"/> with the HTTP <see cref="Status"/> to answer.
/// </summary>
public sealed record ChatOutcome(
    int Status,
    ChatCompletion? Completion,
    OpenAiError? Error,
    string? Provider = null,
    TokenUsage Usage = default,
    long Credits = 0,
    bool CacheHit = false,
    string? Id = null,
    long Created = 0,
    ConsensusInfo? Consensus = null,
    TimeSpan? RetryAfter = null)
{
    public bool Succeeded => Completion is not null;
}

/// <summary>How the models of a consensus call agreed (consensus:a,b[,c]).</summary>
public sealed record ConsensusInfo(string Strategy, double Agreement, IReadOnlyList<ConsensusVote> Votes, string Chosen);

public sealed record ConsensusVote(string Model, string? Provider, int Status, double Similarity, string? Error);

/// <summary>
/// The chat pipeline as the OpenAI-compatible API and the MCP tools use it: validation done, the caller known.
/// It reserves credits, routes to a deployment (retries, fallback), captures what was used and records usage.
/// </summary>
public interface IChatService
{
    Task<ChatOutcome> CompleteAsync(ChatRequest request, ClaimsPrincipal caller, ChatOptions chatOptions, CancellationToken cancellationToken);
}

/// <summary>Per-request switches: <see cref="NoCache"/> (the X-SmartHub-No-Cache header) skips the cache.</summary>
public sealed record ChatOptions(bool NoCache = false)
{
    public static readonly ChatOptions Default = new();
}
