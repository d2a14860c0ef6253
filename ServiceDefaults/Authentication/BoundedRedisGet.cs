using System.Globalization;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>
/// A Redis GET on the authentication path (API-key identities, revocation markers): it waits at most
/// <see cref="SmartHubAuth.RedisLookupTimeout"/>, so a hung Redis (not refusing, just silent) cannot hold requests for
/// the client's whole command timeout. A failure comes back as the reason to log; the caller decides how to go on
/// without Redis (fail open, or ask AuthService).
/// </summary>
internal static class BoundedRedisGet
{
    /// <summary>The value (null when the key does not exist), or null and why Redis did not answer.</summary>
    public static async Task<(byte[]? Value, string? Failure)> GetBytesAsync(IRedisClient redis, string key, TimeProvider timeProvider)
    {
        try
        {
            using var timeout = new CancellationTokenSource(SmartHubAuth.RedisLookupTimeout, timeProvider);
            return (await redis.GetBytesAsync(key, timeout.Token).ConfigureAwait(false), null);
        }
        catch (RedisException ex)
        {
            return (null, ex.Message);
        }
        catch (OperationCanceledException)
        {
            return (null, string.Create(CultureInfo.InvariantCulture, $"no answer within {SmartHubAuth.RedisLookupTimeout.TotalMilliseconds:0} ms"));
        }
    }
}
