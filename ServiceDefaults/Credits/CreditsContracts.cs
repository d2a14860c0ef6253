using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;

namespace SmartHub.ServiceDefaults.Credits;

// The wire contract of CoreService's internal credits API (/internal/credits), shared by CoreService (which answers it)
// and CreditsClient (which McpServer uses to call it), so the two sides cannot drift apart.

/// <summary>Holds <see cref="Amount"/> credits of a user before a call. <see cref="RequestId"/> makes it idempotent.</summary>
public sealed record ReserveRequest(Guid? UserId, Guid? ApiKeyId, long? Amount, string? RequestId, int? TimeoutSeconds);

/// <summary>Charges <see cref="ActualAmount"/> of a reservation; the rest of the hold returns to the balance.</summary>
public sealed record CaptureRequest(Guid? ReservationId, long? ActualAmount);

/// <summary>Gives a whole reservation back.</summary>
public sealed record ReleaseRequest(Guid? ReservationId);

public sealed record ReservationResponse(
    Guid ReservationId, string Status, Guid UserId, long Amount, DateTimeOffset ExpiresAt, long Balance, long Reserved, long Available, bool Replayed);

public sealed record SettlementResponse(
    Guid ReservationId, string Status, Guid UserId, long Amount, long? Charged, long Balance, long Reserved, long Available, bool Replayed);

/// <summary>One operation of a batch: exactly one of the three members is set.</summary>
public sealed record CreditOperation(ReserveRequest? Reserve = null, CaptureRequest? Capture = null, ReleaseRequest? Release = null);

/// <summary><c>POST /internal/credits/batch</c>: up to <see cref="MaxOperations"/> operations, answered in order.</summary>
public sealed record CreditBatchRequest(IReadOnlyList<CreditOperation>? Operations)
{
    public const int MaxOperations = 500;
}

/// <summary>
/// The answer to one operation of a batch: the HTTP status the single endpoint (<c>/reserve</c>, <c>/capture</c>,
/// <c>/release</c>) would have answered, with its body: a reservation, a settlement or a problem.
/// </summary>
public sealed record CreditOperationResult(
    int Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ReservationResponse? Reservation = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SettlementResponse? Settlement = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ProblemDetails? Problem = null);

public sealed record CreditBatchResponse(IReadOnlyList<CreditOperationResult> Results);
