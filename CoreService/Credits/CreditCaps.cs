namespace SmartHub.CoreService.Credits;

public enum CapChangeOutcome
{
    Applied,
    UnknownUser,

    /// <summary>No such key, or (when an owner was required) not that owner's key: the two are not told apart.</summary>
    UnknownApiKey,

    /// <summary>A revoked key takes no new cap (its cap may still be removed).</summary>
    RevokedApiKey,
}

/// <summary>The outcome of a cap change and, when applied, the owner's caps afterwards.</summary>
public sealed record CapChange(CapChangeOutcome Outcome, AccountCaps? Caps = null);

/// <summary>
/// Monthly spending caps of users and API keys: who may be capped (users and keys AuthService knows), and the ledger
/// calls that set them, opening the account first when the ledger has not met the user yet. Enforcement is in the
/// ledger's reserve (Migrations/0002_credits.sql).
/// </summary>
public sealed class CreditCaps(CreditLedger ledger, CreditAccounts accounts, AuthDirectory directory, ILogger<CreditCaps> logger)
{
    /// <summary>The caps of a user AuthService knows (none when the ledger has not met them yet); null for an unknown user.</summary>
    public async Task<AccountCaps?> FindAsync(Guid userId, CancellationToken cancellationToken)
    {
        var caps = await ledger.GetCapsAsync(userId, cancellationToken);
        return caps.AccountOpen || await directory.FindUserAsync(userId, cancellationToken) is not null ? caps : null;
    }

    public async Task<CapChange> SetUserCapAsync(Guid userId, long? monthlyCap, string actor, CancellationToken cancellationToken)
    {
        if (!await OnOpenAccountAsync(userId, ct => ledger.SetUserCapAsync(userId, monthlyCap, ct), cancellationToken))
        {
            return new CapChange(CapChangeOutcome.UnknownUser);
        }

        logger.LogInformation("Monthly cap of user {UserId} set to {MonthlyCap} by {Actor}", userId, Describe(monthlyCap), actor);
        return new CapChange(CapChangeOutcome.Applied, await ledger.GetCapsAsync(userId, cancellationToken));
    }

    /// <summary>
    /// Sets or removes the cap of an API key, on its owner's account. With <paramref name="requiredOwner"/>, a key of
    /// anybody else is <see cref="CapChangeOutcome.UnknownApiKey"/>, exactly like a key that does not exist.
    /// </summary>
    public async Task<CapChange> SetKeyCapAsync(
        Guid apiKeyId, Guid? requiredOwner, long? monthlyCap, string actor, CancellationToken cancellationToken)
    {
        var key = await directory.FindApiKeyAsync(apiKeyId, cancellationToken);
        if (key is null || (requiredOwner is { } owner && key.UserId != owner))
        {
            return new CapChange(CapChangeOutcome.UnknownApiKey);
        }

        if (key.Revoked && monthlyCap is not null)
        {
            return new CapChange(CapChangeOutcome.RevokedApiKey);
        }

        if (!await OnOpenAccountAsync(key.UserId, ct => ledger.SetKeyCapAsync(key.UserId, apiKeyId, monthlyCap, ct), cancellationToken))
        {
            return new CapChange(CapChangeOutcome.UnknownApiKey); // the owner is gone since the key was looked up
        }

        logger.LogInformation(
            "Monthly cap of API key {ApiKeyId} of user {UserId} set to {MonthlyCap} by {Actor}", apiKeyId, key.UserId, Describe(monthlyCap), actor);
        return new CapChange(CapChangeOutcome.Applied, await ledger.GetCapsAsync(key.UserId, cancellationToken));
    }

    /// <summary>Runs a ledger change that answers false when the account is not open: opens it and runs it again.</summary>
    private async Task<bool> OnOpenAccountAsync(Guid userId, Func<CancellationToken, Task<bool>> change, CancellationToken cancellationToken) =>
        await change(cancellationToken)
        || (await accounts.TryOpenAsync(userId, cancellationToken) && await change(cancellationToken));

    private static string Describe(long? monthlyCap) => monthlyCap is { } cap ? cap.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none";
}
