using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;
using Npgsql;
using SmartHub.IntegrationTests.Hosting;

namespace SmartHub.IntegrationTests.Identity;

internal static partial class Tokens
{
    /// <summary>
    /// A token signed with the hub's real active key, with chosen times and audience. The test reads the sealed private
    /// key from authdb and opens it with the key-encryption key (HKDF-SHA256 → AES-256-GCM, the kid as associated data),
    /// as only someone holding both the database and the auth-encryption-key parameter could.
    /// </summary>
    public static async Task<string> SignedWithHubKeyAsync(GraphFixture graph, string sub, string email, string[] roles, DateTimeOffset issuedAt, DateTimeOffset expires, string audience = "smarthub")
    {
        await using var db = NpgsqlDataSource.Create((await graph.App.GetConnectionStringAsync("authdb"))!);
        await using var select = db.CreateCommand(
            "SELECT kid, private_key_ciphertext, private_key_nonce, private_key_tag FROM signing_keys WHERE activates_at <= now() AND retires_at > now() ORDER BY activates_at DESC LIMIT 1");
        await using var reader = await select.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), "authdb has an active signing key");
        var kid = reader.GetString(0);
        var ciphertext = (byte[])reader[1];
        var nonce = (byte[])reader[2];
        var tag = (byte[])reader[3];

        var secret = Encoding.UTF8.GetBytes(graph.App.GetParameterValue("auth-encryption-key"));
        var aesKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, "smarthub/authdb/signing-keys"u8.ToArray(), "aes-256-gcm/v1"u8.ToArray());
        using var aes = new AesGcm(aesKey, 16);
        var pkcs8 = new byte[ciphertext.Length];
        aes.Decrypt(nonce, ciphertext, tag, pkcs8, Encoding.UTF8.GetBytes(kid));
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportPkcs8PrivateKey(pkcs8, out _);

        return Create(new ECDsaSecurityKey(ecdsa) { KeyId = kid }, SecurityAlgorithms.EcdsaSha256, sub, email, roles, issuedAt, expires, audience: audience);
    }
}
