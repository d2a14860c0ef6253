using System.Buffers.Text;
using System.Globalization;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using SmartHub.CoreService.Credits;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.CoreService.Apis;

public sealed record BalanceResponse(long Balance, long Reserved, long Available, string Currency, long? MonthlyCap, long MonthSpent)
{
    public static BalanceResponse From(AccountBalance account) =>
        new(account.Balance, account.Reserved, account.Balance - account.Reserved, "credits", account.MonthlyCap, account.MonthSpent);
}

public sealed record TransactionsPage(IReadOnlyList<LedgerEntry> Items, string? NextCursor);

/// <summary>The caller's own credits (any authenticated user or API key): balance and ledger entries.</summary>
public static class CreditsApi
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    public static IEndpointRouteBuilder MapCreditsApi(this IEndpointRouteBuilder app)
    {
        var credits = app.MapGroup("/api/v1/credits").WithTags("Credits").RequireAuthorization();

        credits.MapGet("/balance", GetBalanceAsync)
            .WithName("GetCreditBalance")
            .WithSummary("The caller's balance, the part held by open reservations, what is available, and this month's spending.");

        credits.MapGet("/transactions", GetTransactionsAsync)
            .WithName("GetCreditTransactions")
            .WithSummary("The caller's ledger entries, newest first. ?limit (1-200, default 50) & cursor (nextCursor of the previous page).");

        return app;
    }

    public static async Task<Ok<BalanceResponse>> GetBalanceAsync(
        ClaimsPrincipal principal, CreditLedger ledger, CreditAccounts accounts, CancellationToken cancellationToken)
    {
        var userId = principal.UserId();
        var account = await ledger.GetBalanceAsync(userId, cancellationToken);
        if (account is null)
        {
            await accounts.OpenForAuthenticatedUserAsync(userId, cancellationToken);
            account = await ledger.GetBalanceAsync(userId, cancellationToken)
                ?? throw new InvalidOperationException($"The credit account of {userId} is missing right after it was opened.");
        }

        return TypedResults.Ok(BalanceResponse.From(account));
    }

    public static async Task<Results<Ok<TransactionsPage>, ValidationProblem>> GetTransactionsAsync(
        int? limit, string? cursor, ClaimsPrincipal principal, CreditLedger ledger, CancellationToken cancellationToken)
    {
        var size = limit ?? DefaultLimit;
        if (size is < 1 or > MaxLimit)
        {
            return CoreProblems.Invalid("limit", $"limit must be between 1 and {MaxLimit}.");
        }

        long? before = null;
        if (cursor is not null)
        {
            if (!Cursor.TryDecode(cursor, out var id))
            {
                return CoreProblems.Invalid("cursor", "cursor must be the nextCursor of a previous page.");
            }

            before = id;
        }

        var entries = await ledger.GetEntriesAsync(principal.UserId(), before, size, cancellationToken);
        var next = entries.Count == size ? Cursor.Encode(entries[^1].Id) : null;
        return TypedResults.Ok(new TransactionsPage(entries, next));
    }

    /// <summary>An opaque page cursor: base64url of "e:&lt;entry id&gt;".</summary>
    internal static class Cursor
    {
        public static string Encode(long id) => Base64Url.EncodeToString(Encoding.ASCII.GetBytes("e:" + id.ToString(CultureInfo.InvariantCulture)));

        public static bool TryDecode(string cursor, out long id)
        {
            id = 0;
            if (cursor.Length is 0 or > 40)
            {
                return false;
            }

            Span<byte> bytes = stackalloc byte[32];
            return Base64Url.TryDecodeFromChars(cursor, bytes, out var written)
                && written > 2 && bytes[0] == (byte)'e' && bytes[1] == (byte)':'
                && long.TryParse(Encoding.ASCII.GetString(bytes[2..written]), NumberStyles.None, CultureInfo.InvariantCulture, out id)
                && id > 0;
        }
    }
}
