using Microsoft.Extensions.Options;

namespace SmartHub.CoreService.Credits;

/// <summary>
/// Opens credit accounts. Users live in authdb, which CoreService does not read: an account is opened (with its signup
/// grant, exactly once) the first time the ledger meets the user. For a caller authenticated at this service the user
/// is known to exist; a user id that arrives in an internal call is first confirmed by AuthService (<see cref="AuthDirectory"/>).
/// </summary>
public sealed class CreditAccounts(
    CreditLedger ledger,
    AuthDirectory directory,
    IOptions<CreditsOptions> options,
    ILogger<CreditAccounts> logger)
{
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
        if (await directory.FindUserAsync(userId, cancellationToken) is null)
        {
            return false;
        }

        await OpenForAuthenticatedUserAsync(userId, cancellationToken);
        return true;
    }
}
