using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace SmartHub.Hosting.Telemetry;

/// <summary>
/// The key the AppHost's OTLP receivers (<see cref="OtlpHttpReceiver"/>, <see cref="OtlpGrpcReceiver"/>) require in the
/// <c>x-otlp-api-key</c> header, so that only the services the AppHost started (which get
/// <c>OTEL_EXPORTER_OTLP_HEADERS=x-otlp-api-key=&lt;key&gt;</c>, see <see cref="ExporterHeaders"/>) can write telemetry.
/// There is no "no key" mode: a receiver always checks. The comparison takes the same time whatever the presented
/// value shares with the key.
/// </summary>
public sealed class OtlpApiKey
{
    /// <summary>The request header (gRPC metadata key) that carries the key.</summary>
    public const string HeaderName = "x-otlp-api-key";

    private readonly byte[] _expected;

    /// <param name="key">The expected key: not empty, and without the characters (<c>,</c> <c>=</c> <c>%</c>, white
    /// space) that would not survive <c>OTEL_EXPORTER_OTLP_HEADERS</c>' <c>key=value,key=value</c> list.</param>
    public OtlpApiKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key.Any(c => c is ',' or '=' or '%' || char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new ArgumentException("An OTLP API key cannot contain ',', '=', '%', white space or control characters.", nameof(key));
        }

        Key = key;
        _expected = Encoding.UTF8.GetBytes(key);
    }

    /// <summary>The key itself, to hand to the services the AppHost starts.</summary>
    public string Key { get; }

    /// <summary>The value of <c>OTEL_EXPORTER_OTLP_HEADERS</c> (or <c>OtlpExporterOptions.Headers</c>) that sends this key.</summary>
    public string ExporterHeaders => $"{HeaderName}={Key}";

    /// <summary>A new random key (256 bits, lowercase hex), for one AppHost run.</summary>
    public static OtlpApiKey Generate() => new(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));

    /// <summary>Whether the request carries exactly one <c>x-otlp-api-key</c> header equal to the key.</summary>
    public bool IsAuthorized(IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return headers.TryGetValue(HeaderName, out var values) && values.Count == 1 && Matches(values[0]);
    }

    /// <summary>Whether <paramref name="presented"/> is the key (constant time in the key's content).</summary>
    public bool Matches(string? presented)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return false;
        }

        // FixedTimeEquals returns early only on a length difference, which reveals the length (64 for generated keys), not the key.
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _expected);
    }

    /// <summary>Never the key itself (it would end up in logs).</summary>
    public override string ToString() => $"{nameof(OtlpApiKey)}({HeaderName}, {_expected.Length} bytes)";
}
