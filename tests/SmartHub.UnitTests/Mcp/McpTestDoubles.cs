using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.IdentityModel.Tokens;
using SmartHub.McpServer.Chat;
using SmartHub.McpServer.Providers;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.UnitTests.Mcp;

/// <summary>A clock the test moves by hand (no timers).</summary>
internal sealed class McpClock : TimeProvider
{
    private long _ticks = TimeSpan.FromDays(1).Ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(GetTimestamp());

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>API keys known to the test: AuthService's verify endpoint without AuthService.</summary>
internal sealed class McpKeyAuthority : IApiKeyAuthority
{
    private readonly ConcurrentDictionary<string, ApiKeyIdentity> _keys = new(StringComparer.Ordinal);

    /// <summary>A new key of a user (a new user unless <paramref name="userId"/> is given) with these permissions.</summary>
    public (Guid UserId, string Key) NewKey(string[] permissions, Guid? userId = null)
    {
        var user = userId ?? Guid.NewGuid();
        var key = ApiKeyFormat.Generate();
        _keys[key] = new ApiKeyIdentity(Guid.NewGuid(), user, $"{user:N}@tests.local", ["user"], permissions, permissions, null, null);
        return (user, key);
    }

    public Task<ApiKeyIdentity?> VerifyAsync(string key, CancellationToken cancellationToken) =>
        Task.FromResult(_keys.GetValueOrDefault(key));
}

/// <summary>No JWT signing keys: these tests authenticate with API keys only.</summary>
internal sealed class NoJwks : IJwksProvider
{
    public ValueTask<SecurityKey?> GetSigningKeyAsync(string kid, CancellationToken cancellationToken) => ValueTask.FromResult<SecurityKey?>(null);
}

/// <summary>
/// The chat pipeline as the tools see it: answers "echo: " + the last message, 5 prompt and 7 completion tokens, 2
/// credits; a last message "no credits" is a 402 and "slow" waits until cancelled. Records every call.
/// </summary>
internal sealed class FakeChatService : IChatService
{
    public ConcurrentQueue<(ChatRequest Request, ClaimsPrincipal Caller)> Calls { get; } = new();

    public async Task<ChatOutcome> CompleteAsync(ChatRequest request, ClaimsPrincipal caller, ChatOptions options, CancellationToken cancellationToken)
    {
        Calls.Enqueue((request, caller));
        var last = request.Messages[^1].Content;
        if (last == "no credits")
        {
            return new ChatOutcome(402, null, OpenAiError.Create("Insufficient credits: 0 available, 3 needed.", "insufficient_quota", "insufficient_credits"));
        }

        if (last == "slow")
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        return new ChatOutcome(
            200,
            new ChatCompletion("echo: " + last, FinishReasons.Stop, new TokenUsage(5, 7)),
            null,
            Provider: "mock",
            Usage: new TokenUsage(5, 7),
            Credits: 2);
    }
}
