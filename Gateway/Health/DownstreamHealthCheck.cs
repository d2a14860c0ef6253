using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SmartHub.ServiceDefaults.Http;

namespace SmartHub.Gateway.Health;

/// <summary>
/// GETs a downstream service's <c>/health</c> (through service discovery, no retries, short
/// timeout) and reports it under the service's name, naming what is unhealthy there:
/// "core: 503 Unhealthy (coredb: 127.0.0.1:5432/coredb: Connection refused)".
/// </summary>
internal sealed class DownstreamHealthCheck(string service, IHttpClientFactory httpClientFactory, TimeSpan timeout) : IHealthCheck
{
    public const string HttpClientName = "downstream-health";
    private const int MaxBodyBytes = 64 * 1024;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://{service}/health"));
        request.Options.Set(HttpRetryPolicy.DisableRetries, true);

        try
        {
            using var client = httpClientFactory.CreateClient(HttpClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeoutSource.Token);
            var body = await ReadBodyAsync(response, timeoutSource.Token);
            var (reportedStatus, problems) = Summarize(body);
            var code = (int)response.StatusCode;

            if (response.IsSuccessStatusCode && reportedStatus is not "Degraded")
            {
                return HealthCheckResult.Healthy($"{service}: {code} {reportedStatus ?? "Healthy"}");
            }

            var description = $"{service}: {code} {reportedStatus ?? response.ReasonPhrase}" + (problems is null ? "" : $" ({problems})");
            return response.IsSuccessStatusCode
                ? HealthCheckResult.Degraded(description)
                : new HealthCheckResult(context.Registration.FailureStatus, description);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            var reason = timeoutSource.IsCancellationRequested
                ? $"no answer within {timeout.TotalSeconds:0.#} s"
                : Innermost(exception).Message;
            return new HealthCheckResult(context.Registration.FailureStatus, $"{service}: unreachable ({reason})");
        }
    }

    /// <summary>The report's status and its non-healthy checks as "name: description; ...".</summary>
    internal static (string? Status, string? Problems) Summarize(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            var status = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;

            var problems = new List<string>();
            if (root.TryGetProperty("checks", out var checks) && checks.ValueKind == JsonValueKind.Array)
            {
                foreach (var check in checks.EnumerateArray())
                {
                    var checkStatus = check.TryGetProperty("status", out var cs) ? cs.GetString() : null;
                    if (checkStatus is null or "Healthy")
                    {
                        continue;
                    }

                    var name = check.TryGetProperty("name", out var n) ? n.GetString() : "?";
                    var description = check.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : checkStatus;
                    problems.Add($"{name}: {description}");
                }
            }

            return (status, problems.Count > 0 ? string.Join("; ", problems) : null);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    private static async Task<string> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[MaxBodyBytes];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }

        return System.Text.Encoding.UTF8.GetString(buffer, 0, total);
    }

    private static Exception Innermost(Exception exception)
    {
        while (exception.InnerException is not null)
        {
            exception = exception.InnerException;
        }

        return exception;
    }
}
