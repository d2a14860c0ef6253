using System.Buffers.Text;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>
/// The public keys access tokens are verified with, by <c>kid</c>. Services fetch them from AuthService's JWKS
/// (<see cref="HttpJwksProvider"/>); AuthService reads its own key store. Register an implementation before
/// <c>AddSmartHubAuthentication()</c> to replace the HTTP one.
/// </summary>
public interface IJwksProvider
{
    /// <summary>
    /// The key with this id, or null when it is unknown even after a refresh (refreshes on an unknown kid are rate-limited).
    /// </summary>
    /// <exception cref="JwksUnavailableException">No keys could be obtained at all (AuthService unreachable, bad JWKS).</exception>
    ValueTask<SecurityKey?> GetSigningKeyAsync(string kid, CancellationToken cancellationToken);
}

/// <summary>The signing keys cannot be obtained; requests with tokens answer 503 rather than 401.</summary>
public sealed class JwksUnavailableException : Exception
{
    public JwksUnavailableException()
    {
    }

    public JwksUnavailableException(string message)
        : base(message)
    {
    }

    public JwksUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Converts between EC P-256 public JWKs and <see cref="ECDsaSecurityKey"/>s.</summary>
public static class EcJwk
{
    public const string KeyType = "EC";
    public const string Curve = "P-256";

    /// <summary>The key, or null when the JWK is not an EC P-256 signing key for ES256 with a kid.</summary>
    public static ECDsaSecurityKey? ToSecurityKey(EcPublicJwk jwk)
    {
        ArgumentNullException.ThrowIfNull(jwk);
        if (jwk.Kty != KeyType || jwk.Crv != Curve || string.IsNullOrEmpty(jwk.Kid) || jwk.X is null || jwk.Y is null
            || (jwk.Use is not null && jwk.Use != "sig")
            || (jwk.Alg is not null && jwk.Alg != SmartHubAuth.SigningAlgorithm))
        {
            return null;
        }

        byte[] x, y;
        try
        {
            x = Base64Url.DecodeFromChars(jwk.X);
            y = Base64Url.DecodeFromChars(jwk.Y);
        }
        catch (FormatException)
        {
            return null;
        }

        if (x.Length != 32 || y.Length != 32)
        {
            return null;
        }

        try
        {
            var ecdsa = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } });
            return new ECDsaSecurityKey(ecdsa) { KeyId = jwk.Kid };
        }
        catch (CryptographicException)
        {
            return null; // not a point on the curve
        }
    }

    /// <summary>The public JWK of a P-256 key, with its kid.</summary>
    public static EcPublicJwk FromKey(ECDsa key, string kid)
    {
        ArgumentNullException.ThrowIfNull(key);
        var parameters = key.ExportParameters(includePrivateParameters: false);
        return new EcPublicJwk(
            KeyType,
            Curve,
            Base64Url.EncodeToString(parameters.Q.X),
            Base64Url.EncodeToString(parameters.Q.Y),
            kid,
            "sig",
            SmartHubAuth.SigningAlgorithm);
    }

    /// <summary>The RFC 7638 thumbprint of a P-256 public key (base64url SHA-256 of its canonical JWK): a stable kid.</summary>
    public static string Thumbprint(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var parameters = key.ExportParameters(includePrivateParameters: false);
        var canonical = $$"""{"crv":"{{Curve}}","kty":"{{KeyType}}","x":"{{Base64Url.EncodeToString(parameters.Q.X)}}","y":"{{Base64Url.EncodeToString(parameters.Q.Y)}}"}""";
        return Base64Url.EncodeToString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(canonical)));
    }
}

/// <summary>
/// Fetches AuthService's JWKS over HTTP (service discovery resolves <c>http://auth</c>) and keeps it for
/// <see cref="SmartHubAuthenticationOptions.JwksCacheDuration"/> (10 min). An unknown kid triggers a refetch at most once
/// per <see cref="SmartHubAuthenticationOptions.JwksRefreshInterval"/> (10 s); concurrent refreshes share one request.
/// When a refresh fails the previous keys stay in use; with no keys at all, callers get <see cref="JwksUnavailableException"/>.
/// </summary>
internal sealed class HttpJwksProvider : IJwksProvider
{
    internal const string HttpClientName = "SmartHub.Jwks";
    private static readonly TimeSpan s_retryAfterFailure = TimeSpan.FromSeconds(2);

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly SmartHubAuthenticationOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<HttpJwksProvider> _logger;
    private readonly Lock _gate = new();
    private volatile Snapshot? _snapshot;
    private Task<Snapshot>? _refresh;
    private long _nextRefreshAllowed;
    private string? _lastError;

    public HttpJwksProvider(
        IHttpClientFactory httpClientFactory,
        IOptions<SmartHubAuthenticationOptions> options,
        TimeProvider timeProvider,
        ILogger<HttpJwksProvider> logger)
    {
        _httpClientFactory = httpClientFactory;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public async ValueTask<SecurityKey?> GetSigningKeyAsync(string kid, CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        var now = _timeProvider.GetTimestamp();
        if (snapshot is not null && _timeProvider.GetElapsedTime(snapshot.FetchedAt, now) < _options.JwksCacheDuration)
        {
            if (snapshot.Keys.TryGetValue(kid, out var known))
            {
                return known;
            }

            if (now < Volatile.Read(ref _nextRefreshAllowed))
            {
                return null; // unknown kid, and we refreshed a moment ago
            }
        }
        else if (snapshot is null && now < Volatile.Read(ref _nextRefreshAllowed))
        {
            throw new JwksUnavailableException($"The signing keys are unavailable: {_lastError ?? "not fetched yet"}.");
        }

        try
        {
            snapshot = await RefreshAsync().WaitAsync(cancellationToken);
        }
#pragma warning disable CA1031 // any failure to get keys (network, discovery, bad document) is "unavailable", never a 500
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            snapshot = _snapshot;
            if (snapshot is null)
            {
                throw new JwksUnavailableException($"The signing keys are unavailable: {ex.Message}", ex);
            }

            // Keep verifying with the keys we had; a key we never saw cannot be checked.
        }

        return snapshot.Keys.GetValueOrDefault(kid);
    }

    private Task<Snapshot> RefreshAsync()
    {
        lock (_gate)
        {
            if (_refresh is { IsCompleted: false } running)
            {
                return running;
            }

            _refresh = FetchAsync();
            return _refresh;
        }
    }

    private async Task<Snapshot> FetchAsync()
    {
        await Task.Yield();
        var started = _timeProvider.GetTimestamp();
        try
        {
            using var timeout = new CancellationTokenSource(_options.AuthServiceTimeout, _timeProvider);
            var client = _httpClientFactory.CreateClient(HttpClientName);
            var document = await client.GetFromJsonAsync(_options.JwksUri, AuthJsonContext.Default.JsonWebKeySetDocument, timeout.Token)
                ?? throw new InvalidDataException("The JWKS document is empty.");

            var keys = new Dictionary<string, SecurityKey>(StringComparer.Ordinal);
            foreach (var jwk in document.Keys ?? [])
            {
                if (jwk is not null && EcJwk.ToSecurityKey(jwk) is { } key)
                {
                    keys[key.KeyId] = key;
                }
            }

            if (keys.Count == 0)
            {
                throw new InvalidDataException("The JWKS document has no usable ES256 keys.");
            }

            var snapshot = new Snapshot(keys, _timeProvider.GetTimestamp());
            var previous = _snapshot;
            _snapshot = snapshot;
            _lastError = null;
            Volatile.Write(ref _nextRefreshAllowed, started + (long)(_options.JwksRefreshInterval.TotalSeconds * _timeProvider.TimestampFrequency));
            if (previous is null || !previous.Keys.Keys.Order(StringComparer.Ordinal).SequenceEqual(keys.Keys.Order(StringComparer.Ordinal)))
            {
                _logger.LogInformation("Signing keys loaded from {JwksUri}: {Kids}", _options.JwksUri, string.Join(", ", keys.Keys));
            }

            return snapshot;
        }
        catch (Exception ex)
        {
            _lastError = ex.Message;
            Volatile.Write(ref _nextRefreshAllowed, started + (long)(s_retryAfterFailure.TotalSeconds * _timeProvider.TimestampFrequency));
            _logger.LogWarning("Fetching the signing keys from {JwksUri} failed: {Reason}", _options.JwksUri, ex.Message);
            throw;
        }
    }

    private sealed record Snapshot(IReadOnlyDictionary<string, SecurityKey> Keys, long FetchedAt);
}
