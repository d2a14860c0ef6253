namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>
/// Names shared by every service and the gateway: authentication schemes, headers, claim types, Redis keys and the
/// revocation channel. They are a contract between AuthService (which writes them) and ServiceDefaults (which reads them).
/// </summary>
public static class SmartHubAuth
{
    /// <summary>The default scheme: an API key as <see cref="ApiKeyScheme"/> checks it, else a JWT as <see cref="BearerScheme"/> does.</summary>
    public const string Scheme = "SmartHub";

    /// <summary>JWT access tokens (<c>Authorization: Bearer eyJ…</c>), ES256, validated against the JWKS.</summary>
    public const string BearerScheme = "Bearer";

    /// <summary>API keys (<c>Authorization: Bearer shk_…</c> or <c>X-API-Key: shk_…</c>).</summary>
    public const string ApiKeyScheme = "ApiKey";

    /// <summary>Header carrying an API key as an alternative to <c>Authorization: Bearer shk_…</c>.</summary>
    public const string ApiKeyHeader = "X-API-Key";

    /// <summary>Header carrying the shared secret of service-to-service calls under <c>/internal</c>.</summary>
    public const string InternalTokenHeader = "X-Internal-Token";

    /// <summary>Every API key starts with this.</summary>
    public const string ApiKeyPrefix = "shk_";

    /// <summary>The signature algorithm of access tokens; every other one (none, HS*, RS*) is rejected.</summary>
    public const string SigningAlgorithm = "ES256";

    /// <summary>Where AuthService publishes its public signing keys (through service discovery of <c>http://auth</c>).</summary>
    public const string DefaultJwksUri = "http://auth/auth/.well-known/jwks.json";

    /// <summary>AuthService's internal API-key verification endpoint (not routed by the gateway).</summary>
    public const string DefaultApiKeyVerifyUri = "http://auth/internal/auth/api-keys/verify";

    /// <summary>Redis pub/sub channel of revocations: messages <c>apikey:{sha256hex}</c>, <c>user:{userId}</c> and <c>session:{sid}</c>.</summary>
    public const string RevocationChannel = "auth:revocations";

    /// <summary>How long a request waits for a Redis lookup (API-key identity, user revocation) before going without it.</summary>
    public static readonly TimeSpan RedisLookupTimeout = TimeSpan.FromMilliseconds(250);

    /// <summary>Redis key of a cached <see cref="ApiKeyIdentity"/> (JSON) for the SHA-256 (lower-case hex) of a full key.</summary>
    public static string ApiKeyCacheKey(string sha256Hex) => "auth:apikey:" + sha256Hex;

    /// <summary>Redis key holding the unix time (seconds) at which a user's sessions were revoked.</summary>
    public static string UserRevokedKey(string userId) => "auth:user-revoked:" + userId;

    /// <summary>Redis key holding the unix time (seconds) at which a session (refresh-token family, <c>sid</c>) was logged out.</summary>
    public static string SessionRevokedKey(string sessionId) => "auth:session-revoked:" + sessionId;

    /// <summary>Revocation message for one API key.</summary>
    public static string ApiKeyRevocationMessage(string sha256Hex) => "apikey:" + sha256Hex;

    /// <summary>Revocation message for all credentials of one user (disabled, roles changed).</summary>
    public static string UserRevocationMessage(string userId) => "user:" + userId;

    /// <summary>Revocation message for the access tokens of one session (logout, refresh-token reuse).</summary>
    public static string SessionRevocationMessage(string sessionId) => "session:" + sessionId;
}

/// <summary>JWT payload names, also the claim types of every SmartHub principal (no inbound claim mapping).</summary>
public static class SmartHubClaims
{
    public const string Subject = "sub";
    public const string Email = "email";
    public const string Role = "role";
    public const string Permission = "permission";
    public const string TokenId = "jti";

    /// <summary>The session of an access token: its refresh-token family. Logging out revokes it.</summary>
    public const string SessionId = "sid";
    public const string IssuedAt = "iat";
    public const string AuthenticationMethod = "amr";
    public const string ApiKeyId = "api_key_id";
    public const string Scope = "scope";
    public const string RateLimitPerSecond = "rate_limit_per_second";

    /// <summary><c>amr</c> of access tokens issued by a password login.</summary>
    public const string PasswordMethod = "pwd";

    /// <summary><c>amr</c> of principals authenticated with an API key.</summary>
    public const string ApiKeyMethod = "api_key";
}

/// <summary>Stable <c>type</c> URIs of the ProblemDetails SmartHub's authentication answers with.</summary>
public static class SmartHubProblemTypes
{
    private const string Base = "https://smarthub.local/problems/";

    public const string Unauthenticated = Base + "unauthenticated";
    public const string InvalidToken = Base + "invalid-token";
    public const string InvalidApiKey = Base + "invalid-api-key";
    public const string Forbidden = Base + "forbidden";
    public const string AuthenticationUnavailable = Base + "authentication-unavailable";
    public const string InvalidInternalToken = Base + "invalid-internal-token";
    public const string ServiceUnavailable = Base + "service-unavailable";
    public const string InternalError = Base + "internal-error";
}
