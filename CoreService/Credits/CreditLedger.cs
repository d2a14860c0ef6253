using Npgsql;
using NpgsqlTypes;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.CoreService.Credits;

public enum ReserveOutcome
{
    Reserved,
    Replayed,
    RequestConflict,
    NoAccount,
    InsufficientCredits,
    UserMonthlyCap,
    KeyMonthlyCap,
}

public enum SettleOutcome
{
    Settled,
    Replayed,
    NotFound,
    Conflict,
}

public enum GrantOutcome
{
    Applied,
    Replayed,
    KeyConflict,
    NoAccount,
    InsufficientCredits,
}

public sealed record ReserveResult(
    ReserveOutcome Outcome,
    Guid ReservationId,
    string Status,
    long Amount,
    DateTimeOffset ExpiresAt,
    long Balance,
    long Reserved,
    long? Cap,
    long? CapSpent);

public sealed record SettleResult(SettleOutcome Outcome, string? Status, Guid UserId, long Amount, long? Charged, long Balance, long Reserved);

public sealed record GrantResult(GrantOutcome Outcome, long EntryId, long Amount, long Balance, long Reserved, DateTimeOffset CreatedAt);

public sealed record AccountBalance(Guid UserId, long Balance, long Reserved, long? MonthlyCap, long MonthSpent);

public sealed record LedgerEntry(
    long Id,
    string Kind,
    long Amount,
    long ReservedChange,
    long BalanceAfter,
    long ReservedAfter,
    Guid? ReservationId,
    Guid? ApiKeyId,
    string Actor,
    string Reason,
    DateTimeOffset CreatedAt);

/// <summary>An API key's monthly cap, what the key spent this UTC month (captures) and what it holds (open reservations).</summary>
public sealed record KeyCap(Guid ApiKeyId, long MonthlyCap, long MonthSpent, long Held);

/// <summary>
/// A user's caps in one UTC month: their own cap with their spending and held credits (what a reservation is checked
/// against), and the caps of their API keys. <see cref="AccountOpen"/> false: the ledger has not met the user yet, so
/// there are no caps and nothing spent.
/// </summary>
public sealed record AccountCaps(Guid UserId, bool AccountOpen, DateOnly Month, long? MonthlyCap, long MonthSpent, long Held, IReadOnlyList<KeyCap> ApiKeys);

/// <summary>An account whose balance or reserved amount disagrees with its entries or its held reservations.</summary>
public sealed record LedgerViolation(Guid UserId, long Balance, long EntriesBalance, long Reserved, long EntriesReserved, long HeldReservations);

public sealed record LedgerCheck(long Accounts, long Entries, IReadOnlyList<LedgerViolation> Violations);

/// <summary>A reserve, capture or release, for <see cref="CreditLedger.ExecuteAsync"/> (group commit).</summary>
public abstract record LedgerOperation;

public sealed record ReserveOperation(Guid UserId, Guid? ApiKeyId, long Amount, string RequestId, TimeSpan Timeout) : LedgerOperation;

public sealed record CaptureOperation(Guid ReservationId, long ActualAmount) : LedgerOperation;

public sealed record ReleaseOperation(Guid ReservationId) : LedgerOperation;

/// <summary>
/// The credits ledger in coredb. Each operation is one call of a SQL function (Migrations/0002_credits.sql; setting
/// caps, 0003_credit_caps.sql): one round trip and one transaction, which locks the account row before anything else;
/// reserves, captures and releases of several callers can also share one transaction (<see cref="ExecuteAsync"/>).
/// It has its own data source (<see cref="DataSourceKey"/>, see <see cref="CreditsExtensions.BuildLedgerDataSource"/>).
/// </summary>
public sealed class CreditLedger([FromKeyedServices(CreditLedger.DataSourceKey)] NpgsqlDataSource dataSource, TimeProvider timeProvider)
{
    /// <summary>Service key of the ledger's data source.</summary>
    public const string DataSourceKey = "coredb-credits";

    /// <summary>Opens the account with its signup grant; false when it existed already (nothing changes then).</summary>
    public async Task<bool> OpenAccountAsync(Guid userId, long signupGrant, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT credits_open_account($1, $2, $3)");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = userId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = signupGrant });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = timeProvider.GetUtcNow() });
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    public async Task<ReserveResult> ReserveAsync(ReserveOperation operation, string actor, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ReserveSql);
        AddReserveParameters(command.Parameters, operation, timeProvider.GetUtcNow(), actor);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadReserveAsync(reader, cancellationToken);
    }

    public async Task<SettleResult> CaptureAsync(CaptureOperation operation, string actor, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(CaptureSql);
        AddCaptureParameters(command.Parameters, operation, timeProvider.GetUtcNow(), actor);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadSettleAsync(reader, cancellationToken);
    }

    public async Task<SettleResult> ReleaseAsync(ReleaseOperation operation, string actor, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ReleaseSql);
        AddReleaseParameters(command.Parameters, operation, timeProvider.GetUtcNow(), actor);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadSettleAsync(reader, cancellationToken);
    }

    /// <summary>
    /// Group commit: several reserves, captures and releases (of different callers) in one transaction and one round
    /// trip, which costs the database a fraction of one transaction per operation (a commit, its WAL flush, the protocol
    /// round trip). The answers come in the order of <paramref name="operations"/>, each a <see cref="ReserveResult"/>
    /// or a <see cref="SettleResult"/> exactly as the single call would have answered, or the <see cref="Exception"/>
    /// that operation met.
    /// <para>
    /// The batch is one NpgsqlBatch, which PostgreSQL runs as one implicit transaction: first a statement that locks
    /// every account the batch touches (the reserves' users and the owners of the reservations it settles) in user id
    /// order, then the operations' SQL functions, unchanged. Every other transaction of the ledger locks one account, or
    /// several in user id order (the expiry job), so batches never deadlock with each other or with them.
    /// </para>
    /// <para>
    /// The functions answer refusals (insufficient credits, caps, conflicts, unknown ids) as outcomes, not errors, so one
    /// caller's refusal does not touch the others'. Should PostgreSQL still refuse a statement (an error rolls the whole
    /// batch back), every operation runs again alone, so only the one at fault gets the error. A lost connection fails
    /// the whole batch with its exception: whether it committed is unknown, and each operation is idempotent, so callers
    /// retry.
    /// </para>
    /// </summary>
    public async Task<IReadOnlyList<object>> ExecuteAsync(IReadOnlyList<LedgerOperation> operations, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operations);
        if (operations.Count == 0)
        {
            return [];
        }

        if (operations.Count == 1)
        {
            return [await ExecuteOneAsync(operations[0], actor, cancellationToken)];
        }

        try
        {
            return await ExecuteBatchAsync(operations, actor, cancellationToken);
        }
        catch (PostgresException ex) when (!PostgresFailure.IsOutage(ex) || ex.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
        {
            var results = new object[operations.Count];
            for (var i = 0; i < operations.Count; i++)
            {
                try
                {
                    results[i] = await ExecuteOneAsync(operations[i], actor, cancellationToken);
                }
                catch (PostgresException one) when (!PostgresFailure.IsOutage(one))
                {
                    results[i] = one;
                }
            }

            return results;
        }
    }

    private async Task<object> ExecuteOneAsync(LedgerOperation operation, string actor, CancellationToken cancellationToken) => operation switch
    {
        ReserveOperation r => await ReserveAsync(r, actor, cancellationToken),
        CaptureOperation c => await CaptureAsync(c, actor, cancellationToken),
        ReleaseOperation r => await ReleaseAsync(r, actor, cancellationToken),
        _ => throw new ArgumentException($"Unknown ledger operation {operation.GetType().Name}.", nameof(operation)),
    };

    private async Task<IReadOnlyList<object>> ExecuteBatchAsync(IReadOnlyList<LedgerOperation> operations, string actor, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var users = new List<Guid>(operations.Count);
        var reservations = new List<Guid>(operations.Count);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        var lockAccounts = new NpgsqlBatchCommand(LockAccountsSql);
        batch.BatchCommands.Add(lockAccounts);
        foreach (var operation in operations)
        {
            NpgsqlBatchCommand command;
            switch (operation)
            {
                case ReserveOperation r:
                    command = new NpgsqlBatchCommand(ReserveSql);
                    AddReserveParameters(command.Parameters, r, now, actor);
                    users.Add(r.UserId);
                    break;
                case CaptureOperation c:
                    command = new NpgsqlBatchCommand(CaptureSql);
                    AddCaptureParameters(command.Parameters, c, now, actor);
                    reservations.Add(c.ReservationId);
                    break;
                case ReleaseOperation r:
                    command = new NpgsqlBatchCommand(ReleaseSql);
                    AddReleaseParameters(command.Parameters, r, now, actor);
                    reservations.Add(r.ReservationId);
                    break;
                default:
                    throw new ArgumentException($"Unknown ledger operation {operation.GetType().Name}.", nameof(operations));
            }

            batch.BatchCommands.Add(command);
        }

        lockAccounts.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. users] });
        lockAccounts.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. reservations] });

        var results = new object[operations.Count];
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // The locked accounts: nothing to read.
        }

        for (var i = 0; i < operations.Count; i++)
        {
            await reader.NextResultAsync(cancellationToken);
            results[i] = operations[i] is ReserveOperation
                ? await ReadReserveAsync(reader, cancellationToken)
                : await ReadSettleAsync(reader, cancellationToken);
        }

        return results;
    }

    /// <summary>A grant (amount &gt; 0) or an adjustment (amount ≠ 0), idempotent by <paramref name="idempotencyKey"/>.</summary>
    public async Task<GrantResult> GrantAsync(
        Guid userId, bool adjustment, long amount, string idempotencyKey, string actor, string reason, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT outcome, entry_id, entry_amount, balance, reserved, created_at FROM credits_grant($1, $2, $3, $4, $5, $6, $7)");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = userId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = adjustment ? "adjustment" : "grant" });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = amount });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = idempotencyKey });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = actor });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = reason });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = timeProvider.GetUtcNow() });

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var outcome = reader.GetString(0) switch
        {
            "applied" => GrantOutcome.Applied,
            "replayed" => GrantOutcome.Replayed,
            "key_conflict" => GrantOutcome.KeyConflict,
            "no_account" => GrantOutcome.NoAccount,
            "insufficient_credits" => GrantOutcome.InsufficientCredits,
            var other => throw new InvalidOperationException($"credits_grant answered an unknown outcome '{other}'."),
        };

        return new GrantResult(
            outcome,
            reader.GetNullable<long?>(1) ?? 0,
            reader.GetNullable<long?>(2) ?? 0,
            reader.GetNullable<long?>(3) ?? 0,
            reader.GetNullable<long?>(4) ?? 0,
            reader.IsDBNull(5) ? default : reader.GetFieldValue<DateTimeOffset>(5));
    }

    /// <summary>The account, or null when it is not open yet.</summary>
    public async Task<AccountBalance?> GetBalanceAsync(Guid userId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT balance, reserved, monthly_cap,
                   CASE WHEN spent_month = credits_month($2) THEN month_spent ELSE 0 END
            FROM credit_accounts WHERE user_id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = userId });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = timeProvider.GetUtcNow() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new AccountBalance(userId, reader.GetInt64(0), reader.GetInt64(1), reader.GetNullable<long?>(2), reader.GetInt64(3))
            : null;
    }

    /// <summary>Sets (cap &gt; 0) or removes (null) the user's monthly cap; false when the account is not open.</summary>
    public async Task<bool> SetUserCapAsync(Guid userId, long? monthlyCap, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT outcome FROM credits_set_user_cap($1, $2, $3)");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = userId });
        command.Parameters.Add(NullableBigint(monthlyCap));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = timeProvider.GetUtcNow() });
        return await command.ExecuteScalarAsync(cancellationToken) is not "no_account";
    }

    /// <summary>
    /// Sets (cap &gt; 0) or removes (null) the monthly cap of one of the user's API keys; false when the account is not
    /// open. A new cap starts from what the key already spent this month and holds; a changed one keeps its counters.
    /// </summary>
    public async Task<bool> SetKeyCapAsync(Guid userId, Guid apiKeyId, long? monthlyCap, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT outcome FROM credits_set_key_cap($1, $2, $3, $4)");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = userId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = apiKeyId });
        command.Parameters.Add(NullableBigint(monthlyCap));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = timeProvider.GetUtcNow() });
        return await command.ExecuteScalarAsync(cancellationToken) is not "no_account";
    }

    /// <summary>The user's cap and their keys' caps (ordered by key id), with this UTC month's spending and held credits.</summary>
    public async Task<AccountCaps> GetCapsAsync(Guid userId, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var month = new DateOnly(now.UtcDateTime.Year, now.UtcDateTime.Month, 1);
        await using var command = dataSource.CreateCommand(
            """
            SELECT a.monthly_cap, CASE WHEN a.spent_month = credits_month($2) THEN a.month_spent ELSE 0 END, a.reserved,
                   k.api_key_id, k.monthly_cap, CASE WHEN k.spent_month = credits_month($2) THEN k.month_spent ELSE 0 END, k.held
            FROM credit_accounts a LEFT JOIN credit_key_caps k ON k.user_id = a.user_id
            WHERE a.user_id = $1
            ORDER BY k.api_key_id
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = userId });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return new AccountCaps(userId, AccountOpen: false, month, null, 0, 0, []);
        }

        var (cap, spent, held) = (reader.GetNullable<long?>(0), reader.GetInt64(1), reader.GetInt64(2));
        var keys = new List<KeyCap>();
        do
        {
            if (!reader.IsDBNull(3))
            {
                keys.Add(new KeyCap(reader.GetGuid(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6)));
            }
        }
        while (await reader.ReadAsync(cancellationToken));

        return new AccountCaps(userId, AccountOpen: true, month, cap, spent, held, keys);
    }

    /// <summary>Entries of one account, newest first, with ids below <paramref name="before"/> when given.</summary>
    public async Task<IReadOnlyList<LedgerEntry>> GetEntriesAsync(Guid userId, long? before, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT id, kind::text, amount, reserved_change, balance_after, reserved_after, reservation_id, api_key_id, actor, reason, created_at
            FROM credit_entries
            WHERE user_id = $1 AND id < $2
            ORDER BY id DESC
            LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = userId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = before ?? long.MaxValue });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var entries = new List<LedgerEntry>(limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new LedgerEntry(
                reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5),
                reader.GetNullable<Guid?>(6), reader.GetNullable<Guid?>(7),
                reader.GetString(8), reader.GetString(9), reader.GetFieldValue<DateTimeOffset>(10)));
        }

        return entries;
    }

    /// <summary>
    /// Settles reservations past their time, up to <paramref name="limit"/>: captured for what the usage records naming
    /// them cost, else released. Returns (examined, settled).
    /// </summary>
    public async Task<(int Examined, int Released)> ExpireDueAsync(int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT examined, released FROM credits_expire_due($1, $2)");
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = timeProvider.GetUtcNow() });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt32(0), reader.GetInt32(1));
    }

    /// <summary>
    /// The ledger's invariant, for every account: balance = sum of its entries' amounts, reserved = sum of their
    /// reserved changes = sum of its held reservations. Reads one consistent snapshot (repeatable read).
    /// </summary>
    public async Task<LedgerCheck> CheckAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            WITH e AS (SELECT user_id, sum(amount) AS amount, sum(reserved_change) AS reserved, count(*) AS n
                       FROM credit_entries GROUP BY user_id),
                 h AS (SELECT user_id, sum(amount) AS held FROM credit_reservations WHERE status = 'held' GROUP BY user_id)
            SELECT a.user_id, a.balance, coalesce(e.amount, 0)::bigint, a.reserved, coalesce(e.reserved, 0)::bigint,
                   coalesce(h.held, 0)::bigint, coalesce(e.n, 0)
            FROM credit_accounts a LEFT JOIN e USING (user_id) LEFT JOIN h USING (user_id)
            """, connection, transaction);
        long accounts = 0, entries = 0;
        var violations = new List<LedgerViolation>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                accounts++;
                entries += reader.GetInt64(6);
                var v = new LedgerViolation(reader.GetGuid(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5));
                if (v.Balance != v.EntriesBalance || v.Reserved != v.EntriesReserved || v.Reserved != v.HeldReservations)
                {
                    violations.Add(v);
                }
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return new LedgerCheck(accounts, entries, violations);
    }

    // Locks the accounts of a batch in user id order (ORDER BY sorts before FOR UPDATE locks): $1 the reserves' users,
    // $2 the reservations settled, whose owners are looked up (one that does not exist yet locks nothing here; its
    // function answers not_found, or locks its account itself when a reserve earlier in the batch created it).
    private const string LockAccountsSql =
        """
        SELECT 1 FROM credit_accounts
        WHERE user_id = ANY($1) OR user_id IN (SELECT r.user_id FROM credit_reservations r WHERE r.id = ANY($2))
        ORDER BY user_id
        FOR UPDATE
        """;

    private const string ReserveSql =
        "SELECT outcome, reservation_id, status, amount, expires_at, balance, reserved, cap, cap_spent FROM credits_reserve($1, $2, $3, $4, $5, $6, $7, $8)";

    private const string CaptureSql =
        "SELECT outcome, status, user_id, amount, charged, balance, reserved FROM credits_capture($1, $2, $3, $4)";

    private const string ReleaseSql =
        "SELECT outcome, status, user_id, amount, NULL::bigint, balance, reserved FROM credits_release($1, false, $2, $3)";

    private static void AddReserveParameters(NpgsqlParameterCollection parameters, ReserveOperation operation, DateTimeOffset now, string actor)
    {
        parameters.Add(new NpgsqlParameter<Guid> { TypedValue = Guid.CreateVersion7(now) });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = operation.RequestId });
        parameters.Add(new NpgsqlParameter<Guid> { TypedValue = operation.UserId });
        parameters.Add(NullableUuid(operation.ApiKeyId));
        parameters.Add(new NpgsqlParameter<long> { TypedValue = operation.Amount });
        parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now + operation.Timeout });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = actor });
    }

    private static void AddCaptureParameters(NpgsqlParameterCollection parameters, CaptureOperation operation, DateTimeOffset now, string actor)
    {
        parameters.Add(new NpgsqlParameter<Guid> { TypedValue = operation.ReservationId });
        parameters.Add(new NpgsqlParameter<long> { TypedValue = operation.ActualAmount });
        parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = actor });
    }

    private static void AddReleaseParameters(NpgsqlParameterCollection parameters, ReleaseOperation operation, DateTimeOffset now, string actor)
    {
        parameters.Add(new NpgsqlParameter<Guid> { TypedValue = operation.ReservationId });
        parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = actor });
    }

    private static async Task<ReserveResult> ReadReserveAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        await reader.ReadAsync(cancellationToken);
        var outcome = reader.GetString(0) switch
        {
            "reserved" => ReserveOutcome.Reserved,
            "replayed" => ReserveOutcome.Replayed,
            "request_conflict" => ReserveOutcome.RequestConflict,
            "no_account" => ReserveOutcome.NoAccount,
            "insufficient_credits" => ReserveOutcome.InsufficientCredits,
            "user_monthly_cap" => ReserveOutcome.UserMonthlyCap,
            "key_monthly_cap" => ReserveOutcome.KeyMonthlyCap,
            var other => throw new InvalidOperationException($"credits_reserve answered an unknown outcome '{other}'."),
        };

        return reader.IsDBNull(1)
            ? new ReserveResult(outcome, Guid.Empty, string.Empty, 0, default, 0, 0, null, null)
            : new ReserveResult(
                outcome, reader.GetGuid(1), reader.GetString(2), reader.GetInt64(3), reader.GetFieldValue<DateTimeOffset>(4),
                reader.GetInt64(5), reader.GetInt64(6), reader.GetNullable<long?>(7), reader.GetNullable<long?>(8));
    }

    private static async Task<SettleResult> ReadSettleAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        await reader.ReadAsync(cancellationToken);
        var outcome = reader.GetString(0) switch
        {
            "captured" or "released" => SettleOutcome.Settled,
            "replayed" => SettleOutcome.Replayed,
            "not_found" => SettleOutcome.NotFound,
            "conflict" => SettleOutcome.Conflict,
            var other => throw new InvalidOperationException($"The ledger answered an unknown outcome '{other}'."),
        };

        return outcome == SettleOutcome.NotFound
            ? new SettleResult(outcome, null, Guid.Empty, 0, null, 0, 0)
            : new SettleResult(
                outcome, reader.GetString(1), reader.GetGuid(2), reader.GetInt64(3), reader.GetNullable<long?>(4),
                reader.GetInt64(5), reader.GetInt64(6));
    }

    private static NpgsqlParameter NullableUuid(Guid? value) =>
        new() { NpgsqlDbType = NpgsqlDbType.Uuid, Value = value is { } v ? v : DBNull.Value };

    private static NpgsqlParameter NullableBigint(long? value) =>
        new() { NpgsqlDbType = NpgsqlDbType.Bigint, Value = value is { } v ? v : DBNull.Value };
}
