using System.Text.Json;
using System.Text.Json.Serialization;

namespace SmartHub.CoreService.Monitoring;

/// <summary>
/// One proxied request as the gateway reports it (Gateway/ResponseTime/ResponseTimeSamples.cs): a stream entry has
/// fields <c>v</c> ("1"), <c>batch</c> (kept across the gateway's retries), <c>count</c> and <c>samples</c>, a JSON
/// array of these.
/// </summary>
public sealed record ResponseTimeSample(
    string? Route, string? Path, string? Method, int Status, double DurationMs, string? Service, long Time, string? CorrelationId)
{
    public const string FormatVersion = "1";

    public static IReadOnlyList<ResponseTimeSample> Decode(ReadOnlySpan<byte> samples) =>
        JsonSerializer.Deserialize(samples, ResponseTimeJsonContext.Default.IReadOnlyListResponseTimeSample)
        ?? throw new JsonException("samples is null");

    /// <summary>Null when the sample can be stored; else what is wrong with it.</summary>
    public string? Validate(DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(Path) || !Path.StartsWith('/') || string.IsNullOrEmpty(Method) || Method.Length > 16 || string.IsNullOrEmpty(Service) || Service.Length > 100)
        {
            return "path, method and service are required";
        }

        if (Status is < 100 or > 599 || !double.IsFinite(DurationMs) || DurationMs < 0)
        {
            return "status must be an HTTP status and duration_ms finite and not negative";
        }

        var at = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(Time, 0, 253402300799999));
        return at < now - TimeSpan.FromDays(400) || at > now + TimeSpan.FromDays(1) ? "time is more than 400 days ago or in the future" : null;
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(IReadOnlyList<ResponseTimeSample>))]
internal sealed partial class ResponseTimeJsonContext : JsonSerializerContext;
