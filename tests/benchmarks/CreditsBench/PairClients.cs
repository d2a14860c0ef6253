using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using SmartHub.ServiceDefaults.Credits;

namespace SmartHub.Benchmarks.CreditsBench;

/// <summary>One reserve (10 credits) then one capture (7) of the same reservation; null when both succeeded, else why not.</summary>
internal interface IPairClient
{
    /// <summary>Prefix of the request ids this client uses in this run, so the run can find its reservations afterwards.</summary>
    string RequestIdPrefix { get; }

    ValueTask<string?> RunPairAsync(Guid userId, string requestId, CancellationToken cancellationToken);
}

internal static class Pair
{
    public const long Reserve = 10;
    public const long Capture = 7;
}

/// <summary>
/// As McpServer calls the ledger: with SmartHub's CreditsClient (ServiceDefaults/Credits), which sends overlapping calls
/// together to CoreService's /internal/credits/batch (one request, one transaction), on its own port, with the token.
/// </summary>
internal sealed class BatchingPairClient(CreditsClient client, string runId) : IPairClient
{
    public string RequestIdPrefix { get; } = $"bc-{runId}-";

    public async ValueTask<string?> RunPairAsync(Guid userId, string requestId, CancellationToken cancellationToken)
    {
        var reserve = await client.ReserveAsync(new ReserveRequest(userId, null, Pair.Reserve, requestId, null), cancellationToken);
        if (reserve.Status != (int)HttpStatusCode.Created || reserve.Value is null)
        {
            return $"reserve answered {reserve.Status}: {reserve.Problem?.Detail}";
        }

        var capture = await client.CaptureAsync(new CaptureRequest(reserve.Value.ReservationId, Pair.Capture), cancellationToken);
        return capture.Status == (int)HttpStatusCode.OK ? null : $"capture answered {capture.Status}: {capture.Problem?.Detail}";
    }
}

/// <summary>One HTTP request per call: CoreService's /internal/credits/reserve and /capture, with the internal token.</summary>
internal sealed class HttpPairClient(HttpClient http, Uri core, string internalToken, string runId) : IPairClient
{
    private static readonly MediaTypeHeaderValue s_json = new("application/json");
    private readonly Uri _reserve = new(core, "/internal/credits/reserve");
    private readonly Uri _capture = new(core, "/internal/credits/capture");

    public string RequestIdPrefix { get; } = $"bh-{runId}-";

    public async ValueTask<string?> RunPairAsync(Guid userId, string requestId, CancellationToken cancellationToken)
    {
        var (status, body) = await PostAsync(_reserve, $$"""{"userId":"{{userId:D}}","amount":{{Pair.Reserve}},"requestId":"{{requestId}}"}""", cancellationToken);
        if (status != HttpStatusCode.Created)
        {
            return $"reserve answered {(int)status}: {Snippet(body)}";
        }

        var reservationId = ReadReservationId(body);
        if (reservationId is null)
        {
            return $"reserve answered 201 without a reservationId: {Snippet(body)}";
        }

        (status, body) = await PostAsync(_capture, $$"""{"reservationId":"{{reservationId}}","actualAmount":{{Pair.Capture}}}""", cancellationToken);
        return status == HttpStatusCode.OK ? null : $"capture answered {(int)status}: {Snippet(body)}";
    }

    private async Task<(HttpStatusCode Status, byte[] Body)> PostAsync(Uri uri, string json, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = s_json;
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = content };
        request.Headers.TryAddWithoutValidation("X-Internal-Token", internalToken);
        using var response = await http.SendAsync(request, cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsByteArrayAsync(cancellationToken));
    }

    private static string? ReadReservationId(byte[] body)
    {
        var reader = new Utf8JsonReader(body);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("reservationId"u8) && reader.Read())
            {
                return reader.GetString();
            }
        }

        return null;
    }

    private static string Snippet(byte[] body) => Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 300));
}

/// <summary>
/// The baseline: the same two SQL functions with the same statements and parameters as CoreService's CreditLedger
/// (CoreService/Credits/CreditLedger.cs), straight from Npgsql, each statement on a connection from a pool with the same
/// settings as CoreService's ledger pool, like there.
/// What is left out is HTTP, ASP.NET Core, JSON and CoreService itself.
/// </summary>
internal sealed class DbPairClient(NpgsqlDataSource dataSource, string runId) : IPairClient
{
    private const string Actor = "service";

    public string RequestIdPrefix { get; } = $"bd-{runId}-";

    public async ValueTask<string?> RunPairAsync(Guid userId, string requestId, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var reservationId = Guid.CreateVersion7(now);
        await using (var reserve = dataSource.CreateCommand(
            "SELECT outcome, reservation_id, status, amount, expires_at, balance, reserved, cap, cap_spent FROM credits_reserve($1, $2, $3, $4, $5, $6, $7, $8)"))
        {
            reserve.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = reservationId });
            reserve.Parameters.Add(new NpgsqlParameter<string> { TypedValue = requestId });
            reserve.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = userId });
            reserve.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Uuid, Value = DBNull.Value });
            reserve.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Pair.Reserve });
            reserve.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            reserve.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now + TimeSpan.FromMinutes(10) });
            reserve.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Actor });
            await using var reader = await reserve.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var outcome = reader.GetString(0);
            if (outcome != "reserved")
            {
                return $"credits_reserve answered {outcome}";
            }
        }

        await using var capture = dataSource.CreateCommand(
            "SELECT outcome, status, user_id, amount, charged, balance, reserved FROM credits_capture($1, $2, $3, $4)");
        capture.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = reservationId });
        capture.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Pair.Capture });
        capture.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = DateTimeOffset.UtcNow });
        capture.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Actor });
        await using (var reader = await capture.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            var outcome = reader.GetString(0);
            return outcome == "captured" ? null : $"credits_capture answered {outcome}";
        }
    }
}
