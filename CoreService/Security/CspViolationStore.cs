using System.Text.Json.Serialization;
using Npgsql;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.CoreService.Security;

/// <summary>A stored violation, as listed by <c>GET /api/v1/security/violations</c>: its id, when it arrived, the violation, the request's correlation id.</summary>
public sealed record StoredViolation : CspViolation
{
    public StoredViolation(long id, DateTimeOffset receivedAt, CspViolation violation, string? correlationId)
        : base(violation)
    {
        Id = id;
        ReceivedAt = receivedAt;
        CorrelationId = correlationId;
    }

    [JsonPropertyOrder(-2)]
    public long Id { get; init; }

    [JsonPropertyOrder(-1)]
    public DateTimeOffset ReceivedAt { get; init; }

    public string? CorrelationId { get; init; }
}

/// <summary>How many violations arrived since a time: all of them, and distinct ones (same page, directive and blocked URI).</summary>
public sealed record ViolationSummary(DateTimeOffset Since, long Count, long Distinct);

/// <summary>The CSP violations in coredb (Migrations/0007_security.sql).</summary>
public sealed class CspViolationStore(NpgsqlDataSource dataSource)
{
    private const string Columns =
        "id, received_at, report_format, document_uri, blocked_uri, effective_directive, violated_directive, original_policy, "
        + "disposition, referrer, status_code, source_file, line_number, column_number, sample, age_ms, user_agent, correlation_id";

    /// <summary>Stores the violations of one request, in one round trip and one transaction.</summary>
    public async Task StoreAsync(IReadOnlyList<CspViolation> violations, DateTimeOffset receivedAt, string? correlationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(violations);
        if (violations.Count == 0)
        {
            return;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        foreach (var v in violations)
        {
            var command = new NpgsqlBatchCommand(
                "INSERT INTO csp_violations (received_at, report_format, document_uri, blocked_uri, effective_directive, violated_directive, "
                + "original_policy, disposition, referrer, status_code, source_file, line_number, column_number, sample, age_ms, user_agent, correlation_id) "
                + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)");
            foreach (var value in new object?[]
            {
                receivedAt, v.Format, v.DocumentUri, v.BlockedUri, v.EffectiveDirective, v.ViolatedDirective, v.OriginalPolicy,
                v.Disposition, v.Referrer, v.StatusCode, v.SourceFile, v.LineNumber, v.ColumnNumber, v.Sample, v.AgeMs, v.UserAgent, correlationId,
            })
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
            }

            batch.BatchCommands.Add(command);
        }

        // A batch of several statements runs in one implicit transaction: all of the request's violations or none.
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Newest first: ids below <paramref name="beforeId"/>, received at or after <paramref name="since"/>, of <paramref name="directive"/>.</summary>
    public async Task<IReadOnlyList<StoredViolation>> ListAsync(
        long? beforeId, DateTimeOffset? since, string? directive, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {Columns} FROM csp_violations "
            + "WHERE (@before::bigint IS NULL OR id < @before) AND (@since::timestamptz IS NULL OR received_at >= @since) "
            + "AND (@directive::text IS NULL OR effective_directive = @directive) "
            + "ORDER BY id DESC LIMIT @limit");
        command.With("before", beforeId).With("since", since).With("directive", directive).With("limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var items = new List<StoredViolation>(Math.Min(limit, 256));
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new StoredViolation(
                reader.GetInt64(0),
                reader.GetFieldValue<DateTimeOffset>(1),
                new CspViolation(
                    reader.GetString(2),
                    reader.GetString(3),
                    reader.GetNullable<string>(4),
                    reader.GetString(5),
                    reader.GetNullable<string>(6),
                    reader.GetNullable<string>(7),
                    reader.GetNullable<string>(8),
                    reader.GetNullable<string>(9),
                    reader.IsDBNull(10) ? null : reader.GetInt32(10),
                    reader.GetNullable<string>(11),
                    reader.IsDBNull(12) ? null : reader.GetInt64(12),
                    reader.IsDBNull(13) ? null : reader.GetInt64(13),
                    reader.GetNullable<string>(14),
                    reader.IsDBNull(15) ? null : reader.GetInt64(15),
                    reader.GetNullable<string>(16)),
                reader.GetNullable<string>(17)));
        }

        return items;
    }

    public async Task<ViolationSummary> SummarizeAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT count(*), count(DISTINCT (document_uri, effective_directive, coalesce(blocked_uri, ''))) "
            + "FROM csp_violations WHERE received_at >= @since");
        command.With("since", since);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new ViolationSummary(since, reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>Deletes up to <paramref name="batchSize"/> violations received before <paramref name="before"/>; returns how many.</summary>
    public async Task<int> DeleteOlderThanAsync(DateTimeOffset before, int batchSize, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "DELETE FROM csp_violations WHERE id IN (SELECT id FROM csp_violations WHERE received_at < @before ORDER BY id LIMIT @batch)");
        command.With("before", before).With("batch", batchSize);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Deletes up to <paramref name="batchSize"/> of the oldest violations beyond the newest <paramref name="keep"/>; returns how many.</summary>
    public async Task<int> DeleteBeyondAsync(int keep, int batchSize, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "DELETE FROM csp_violations WHERE id IN (SELECT id FROM csp_violations "
            + "WHERE id <= (SELECT id FROM csp_violations ORDER BY id DESC OFFSET @keep LIMIT 1) ORDER BY id LIMIT @batch)");
        command.With("keep", keep).With("batch", batchSize);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
