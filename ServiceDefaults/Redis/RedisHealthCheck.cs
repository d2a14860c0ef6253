using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SmartHub.ServiceDefaults.Redis;

/// <summary>Readiness: PING within a short timeout. The description names host:port, never the password.</summary>
internal sealed class RedisHealthCheck(IRedisClient client, TimeSpan timeout) : IHealthCheck
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var address = $"{client.EndPoint.Host}:{client.EndPoint.Port}";
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            var latency = await client.PingAsync(timeoutSource.Token);
            return HealthCheckResult.Healthy(
                $"Redis at {address} answered PING in {latency.TotalMilliseconds:0.#} ms.",
                new Dictionary<string, object> { ["endpoint"] = address, ["latencyMs"] = latency.TotalMilliseconds });
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Unhealthy($"Redis at {address} did not answer PING within {timeout.TotalMilliseconds:0} ms.", null);
        }
        catch (RedisConnectionException ex)
        {
            // An expected outage: the message says it all ("Redis at host:port is unavailable: ..."); no stack trace per probe.
            return Unhealthy(ex.Message, null);
        }
        catch (RedisException ex)
        {
            return Unhealthy($"Redis at {address} failed PING: {ex.Message}", ex);
        }

        HealthCheckResult Unhealthy(string description, Exception? exception) => new(
            context.Registration.FailureStatus,
            description,
            exception,
            new Dictionary<string, object> { ["endpoint"] = address });
    }
}
