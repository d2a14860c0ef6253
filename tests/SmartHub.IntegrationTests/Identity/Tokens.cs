using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SmartHub.IntegrationTests.Identity;

/// <summary>Forged and broken tokens: what an attacker could send.</summary>
internal static partial class Tokens
{
    private static readonly string[] AllPermissions = ["monitoring:read", "system:read", "users:manage", "credits:grant", "keys:manage", "chat:use"];

    private static Dictionary<string, object> Claims(string sub, string email, string[] roles, DateTimeOffset issuedAt) => new()
    {
        ["sub"] = sub,
        ["email"] = email,
        ["role"] = roles,
        ["permission"] = AllPermissions,
        ["jti"] = Guid.NewGuid().ToString("N"),
        ["amr"] = "pwd",
        ["iat"] = issuedAt.ToUnixTimeSeconds(),
    };

    /// <summary>A well-formed ES256 token naming the hub's kid, signed with a key the attacker made up.</summary>
    public static string SignedWithForeignKey(string kid, string role)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow;
        return Create(new ECDsaSecurityKey(ecdsa) { KeyId = kid }, SecurityAlgorithms.EcdsaSha256, Guid.NewGuid().ToString(), "mallory@example.com", [role], now, now.AddMinutes(10));
    }

    public static string Create(SecurityKey key, string algorithm, string sub, string email, string[] roles, DateTimeOffset issuedAt, DateTimeOffset expires, string issuer = "smarthub", string audience = "smarthub") =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = issuedAt.UtcDateTime,
            NotBefore = issuedAt.UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = Claims(sub, email, roles, issuedAt),
            // Test keys are disposed after use; IdentityModel's provider cache would hand a disposed key to the next call.
            SigningCredentials = new SigningCredentials(key, algorithm) { CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false } },
        });

    /// <summary>The real token with its payload changed (roles raised to admin), signature kept.</summary>
    public static string WithPayloadEdited(string token, Action<JsonObject> edit)
    {
        var parts = token.Split('.');
        var payload = JsonNode.Parse(Base64UrlEncoder.Decode(parts[1]))!.AsObject();
        edit(payload);
        return $"{parts[0]}.{Base64UrlEncoder.Encode(payload.ToJsonString())}.{parts[2]}";
    }

    /// <summary>The real payload with header alg "none" and no signature.</summary>
    public static string AlgNone(string token)
    {
        var parts = token.Split('.');
        var header = JsonNode.Parse(Base64UrlEncoder.Decode(parts[0]))!.AsObject();
        header["alg"] = "none";
        return $"{Base64UrlEncoder.Encode(header.ToJsonString())}.{parts[1]}.";
    }

    /// <summary>The classic key-confusion attack: HS256 with the hub's public key (its JWK JSON) as the HMAC secret.</summary>
    public static string Hs256WithPublicKey(string token, string publicJwkJson)
    {
        var parts = token.Split('.');
        var header = JsonNode.Parse(Base64UrlEncoder.Decode(parts[0]))!.AsObject();
        header["alg"] = "HS256";
        var signingInput = $"{Base64UrlEncoder.Encode(header.ToJsonString())}.{parts[1]}";
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(publicJwkJson), Encoding.ASCII.GetBytes(signingInput));
        return $"{signingInput}.{Base64UrlEncoder.Encode(signature)}";
    }

    public static JsonElement Payload(string token) => JsonDocument.Parse(Base64UrlEncoder.Decode(token.Split('.')[1])).RootElement.Clone();
}
