using System.Buffers;
using SmartHub.ServiceDefaults.Security;

namespace SmartHub.ServiceDefaults.Correlation;

/// <summary>
/// The correlation id carried by <c>X-Correlation-ID</c>: accepted from the caller when valid
/// (1–128 characters of [A-Za-z0-9._:-]), otherwise generated; flows with the async context so
/// outgoing HttpClient calls and log scopes pick it up.
/// </summary>
public static class CorrelationId
{
    public const string HeaderName = "X-Correlation-ID";
    public const int MaxLength = 128;

    /// <summary>Name of the log scope property, activity tag and baggage item.</summary>
    public const string PropertyName = "CorrelationId";
    public const string ActivityTagName = "correlation.id";

    private static readonly SearchValues<char> s_allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-");

    private static readonly AsyncLocal<string?> s_current = new();

    /// <summary>The correlation id of the current request (or background operation), if any.</summary>
    public static string? Current
    {
        get => s_current.Value;
        set => s_current.Value = value;
    }

    public static bool IsValid(string? value) =>
        !string.IsNullOrEmpty(value)
        && value.Length <= MaxLength
        && !value.AsSpan().ContainsAnyExcept(s_allowed);

    /// <summary>A new id: 16 random bytes as 32 lowercase hex characters (the shape of a Guid's "N" format).</summary>
    public static string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        BufferedRandom.Fill(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>The caller's id when it is valid, a fresh one otherwise.</summary>
    public static string AcceptOrCreate(string? incoming) => IsValid(incoming) ? incoming! : NewId();
}
