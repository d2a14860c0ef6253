using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.CoreService.Credits;

/// <summary>
/// Opens credit accounts. Users live in authdb, which CoreService does not read: an account is opened (with its signup
/// grant, exactly once) the first time the ledger meets the user. For a caller authenticated at this service the user
/// is known to exist; a user id that arrives in an internal call is first confirmed by AuthService.
/// </summary>
public sealed class CreditAccounts(
    CreditLedger ledger,
    IHttpClientFactory httpClientFactory,
    IOptions<CreditsOptions> options,
    IOptions<InternalOptions> internalOptions,
    TimeProvider timeProvider,
    ILogger<CreditAccounts> logger)
{
    public const string HttpClientName = "SmartHub.UserDirectory";

    /// <summary>Opens the account of a user authenticated by this request (their token or key proves they exist).</summary>
    public async Task OpenForAuthenticatedUserAsync(Guid userId, CancellationToken cancellationToken)
    {
        if (await ledger.OpenAccountAsync(userId, options.Value.SignupGrant, cancellationToken))
        {
            logger.LogInformation("Credit account of user {UserId} opened with a signup grant of {Grant}", userId, options.Value.SignupGrant);
        }
    }

    /// <summary>Opens the account when AuthService knows the user; false for an unknown user.</summary>
    public async Task<bool> TryOpenAsync(Guid userId, CancellationToken cancellationToken)
    {
        if (!await UserExistsAsync(userId, cancellationToken))
        {
            return false;
        }

        await OpenForAuthenticatedUserAsync(userId, cancellationToken);
        return true;
    }

    private async Task<bool> UserExistsAsync(Guid userId, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        using var timeout = new CancellationTokenSource(settings.AuthServiceTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(settings.UserDirectoryUri, userId.ToString("D")));
            request.Headers.TryAddWithoutValidation(SmartHubAuth.InternalTokenHeader, internalOptions.Value.Token);
            using var response = await httpClientFactory.CreateClient(HttpClientName).SendAsync(request, linked.Token);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return false;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new DependencyUnavailableException($"Users cannot be looked up right now (the auth service answered {(int)response.StatusCode}).");
            }

            var user = await response.Content.ReadFromJsonAsync<DirectoryUser>(linked.Token);
            return user?.Id == userId;
        }
        catch (Exception ex) when (ex is HttpRequestException or System.Text.Json.JsonException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new DependencyUnavailableException(timeout.IsCancellationRequested
                ? $"Users cannot be looked up right now (no answer from the auth service within {settings.AuthServiceTimeout.TotalSeconds:0.#} s)."
                : "Users cannot be looked up right now (the auth service is unreachable).");
        }
    }

    private sealed record DirectoryUser(Guid Id, string? Email, bool Disabled);
}
