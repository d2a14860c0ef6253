using System.Text.Json;
using System.Text.Json.Serialization;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>
/// What an API key stands for, as AuthService answers <c>POST /internal/auth/api-keys/verify</c> and caches it in Redis
/// under <c>auth:apikey:{sha256hex}</c>. <see cref="Permissions"/> are already effective: the owner's permissions ∩ the
/// key's <see cref="Scopes"/>.
/// </summary>
public sealed record ApiKeyIdentity(
    Guid KeyId,
    Guid UserId,
    string Email,
    IReadOnlyList<string> Roles,
    IReadOnlyList<string> Permissions,
    IReadOnlyList<string> Scopes,
    int? RateLimitPerSecond,
    DateTimeOffset? ExpiresAt);

/// <summary>Body of <c>POST /internal/auth/api-keys/verify</c>.</summary>
public sealed record ApiKeyVerifyRequest(string? Key);

/// <summary>A JSON Web Key Set (RFC 7517), as published at <c>/auth/.well-known/jwks.json</c>.</summary>
public sealed record JsonWebKeySetDocument([property: JsonPropertyName("keys")] IReadOnlyList<EcPublicJwk> Keys);

/// <summary>An EC P-256 public key as a JWK (RFC 7518 §6.2). Only the members SmartHub uses.</summary>
public sealed record EcPublicJwk(
    [property: JsonPropertyName("kty")] string? Kty,
    [property: JsonPropertyName("crv")] string? Crv,
    [property: JsonPropertyName("x")] string? X,
    [property: JsonPropertyName("y")] string? Y,
    [property: JsonPropertyName("kid")] string? Kid,
    [property: JsonPropertyName("use")] string? Use,
    [property: JsonPropertyName("alg")] string? Alg);

/// <summary>Source-generated serialization of the types read on the authentication hot path (Redis, internal calls, JWKS).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ApiKeyIdentity))]
[JsonSerializable(typeof(ApiKeyVerifyRequest))]
[JsonSerializable(typeof(JsonWebKeySetDocument))]
public sealed partial class AuthJsonContext : JsonSerializerContext;
