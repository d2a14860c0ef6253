using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.McpServer.Mcp;

/// <summary>What CoreService answered a tool: its JSON object, or an error message for the tool result.</summary>
internal readonly record struct CoreAnswer(JsonElement? Body, string? Error);

/// <summary>
/// CoreService's user API as the caller would call it through the gateway: GETs under <c>/api/v1</c> with the caller's
/// own credentials (their <c>Authorization</c> or <c>X-API-Key</c> header, forwarded as received), so CoreService
/// answers for that caller and applies its own checks. The HttpClient carries the service defaults (service discovery
/// of <c>http://core</c>, correlation id, total timeout, retries of these idempotent calls).
/// </summary>
internal sealed class CoreApiClient(IHttpClientFactory httpClientFactory, IOptions<McpOptions> options, ILogger<CoreApiClient> logger)
{
    public const string HttpClientName = "SmartHub.Mcp.Core";

    public async Task<CoreAnswer> GetAsync(string pathAndQuery, McpCaller caller, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(pathAndQuery);
        ArgumentNullException.ThrowIfNull(caller);

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(options.Value.CoreUri, pathAndQuery));
        if (caller.Authorization is { Length: > 0 } authorization)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        if (caller.ApiKey is { Length: > 0 } apiKey)
        {
            request.Headers.TryAddWithoutValidation(SmartHubAuth.ApiKeyHeader, apiKey);
        }

        try
        {
            var client = httpClientFactory.CreateClient(HttpClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            JsonElement? body = null;
            if (response.Content.Headers.ContentType?.MediaType is { } mediaType && mediaType.Contains("json", StringComparison.OrdinalIgnoreCase))
            {
                await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
                body = document.RootElement.Clone();
            }

            if (response.IsSuccessStatusCode && body is { ValueKind: JsonValueKind.Object })
            {
                return new CoreAnswer(body, null);
            }

            return new CoreAnswer(null, Describe(response.StatusCode, body));
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            logger.LogWarning("CoreService call {Path} failed: {Reason}", request.RequestUri?.AbsolutePath, ex.Message);
            return new CoreAnswer(null, ex is OperationCanceledException
                ? "CoreService did not answer in time; try again shortly."
                : "CoreService is unreachable right now; try again shortly.");
        }
    }

    /// <summary>An error answer as one sentence: the status and what CoreService's ProblemDetails say (detail, else title).</summary>
    internal static string Describe(HttpStatusCode status, JsonElement? body)
    {
        var code = (int)status;
        string? said = null;
        if (body is { ValueKind: JsonValueKind.Object } problem)
        {
            said = Text(problem, "detail") ?? Text(problem, "title");
        }

        var what = code switch
        {
            401 => "Not authenticated",
            403 => "Not allowed",
            404 => "Not found",
            429 => "Rate limited",
            >= 500 => "CoreService is unavailable",
            _ => "CoreService refused the request",
        };

        return said is null ? $"{what} (HTTP {code})." : $"{what} (HTTP {code}): {said}";

        static string? Text(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;
    }
}
