using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.CoreService.Credits;

/// <summary>A user as AuthService describes it to other services.</summary>
public sealed record DirectoryUser(Guid Id, string? Email, bool Disabled);

/// <summary>An API key as AuthService describes it to other services: its owner, and whether it is revoked.</summary>
public sealed record DirectoryApiKey(Guid Id, Guid UserId, bool Revoked);

/// <summary>
/// AuthService's internal look-ups (<c>GET /internal/auth/users/{id}</c>, <c>/internal/auth/api-keys/{id}</c>, with
/// <c>X-Internal-Token</c>). CoreService does not read authdb: users and keys that arrive by id are confirmed here.
/// Null when AuthService does not know the id; a <see cref="DependencyUnavailableException"/> (503) when it cannot say.
/// </summary>
public sealed class AuthDirectory(
    IHttpClientFactory httpClientFactory,
    IOptions<CreditsOptions> options,
    IOptions<InternalOptions> internalOptions,
    TimeProvider timeProvider)
{
    public const string HttpClientName = "SmartHub.AuthDirectory";

    public async Task<DirectoryUser?> FindUserAsync(Guid userId, CancellationToken cancellationToken)
    {
        var user = await GetAsync<DirectoryUser>("users/", userId, "Users", cancellationToken);
        return user?.Id == userId ? user : null;
    }

    public async Task<DirectoryApiKey?> FindApiKeyAsync(Guid apiKeyId, CancellationToken cancellationToken)
    {
        var key = await GetAsync<DirectoryApiKey>("api-keys/", apiKeyId, "API keys", cancellationToken);
        return key?.Id == apiKeyId ? key : null;
    }

    private async Task<T?> GetAsync<T>(string collection, Guid id, string what, CancellationToken cancellationToken)
        where T : class
    {
        var settings = options.Value;
        using var timeout = new CancellationTokenSource(settings.AuthServiceTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(settings.AuthDirectoryUri, collection + id.ToString("D")));
            request.Headers.TryAddWithoutValidation(SmartHubAuth.InternalTokenHeader, internalOptions.Value.Token);
            using var response = await httpClientFactory.CreateClient(HttpClientName).SendAsync(request, linked.Token);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new DependencyUnavailableException($"{what} cannot be looked up right now (the auth service answered {(int)response.StatusCode}).");
            }

            return await response.Content.ReadFromJsonAsync<T>(linked.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or System.Text.Json.JsonException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new DependencyUnavailableException(timeout.IsCancellationRequested
                ? $"{what} cannot be looked up right now (no answer from the auth service within {settings.AuthServiceTimeout.TotalSeconds:0.#} s)."
                : $"{what} cannot be looked up right now (the auth service is unreachable).");
        }
    }
}
