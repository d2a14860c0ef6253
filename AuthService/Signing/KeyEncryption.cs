using System.Security.Cryptography;
using System.Text;

namespace SmartHub.AuthService.Signing;

/// <summary>A private key sealed with AES-256-GCM: 12-byte nonce, 16-byte tag, ciphertext.</summary>
public sealed record EncryptedKey(byte[] Nonce, byte[] Tag, byte[] Ciphertext);

/// <summary>
/// Encrypts signing keys at rest. The AES-256 key is derived from Auth:KeyEncryptionKey with HKDF-SHA256 (a fixed salt
/// and a purpose label as info), each encryption uses a fresh random nonce, and the key id is bound as associated data,
/// so a ciphertext moved to another row, or altered in any bit, fails to decrypt (<see cref="CryptographicException"/>).
/// </summary>
public sealed class KeyEncryption : IDisposable
{
    public const int NonceSize = 12;
    public const int TagSize = 16;

    private static readonly byte[] s_salt = "smarthub/authdb/signing-keys"u8.ToArray();
    private static readonly byte[] s_info = "aes-256-gcm/v1"u8.ToArray();

    private readonly AesGcm _aes;

    public KeyEncryption(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret), 32, s_salt, s_info);
        _aes = new AesGcm(key, TagSize);
        CryptographicOperations.ZeroMemory(key);
    }

    public EncryptedKey Encrypt(ReadOnlySpan<byte> plaintext, string kid)
    {
        ArgumentException.ThrowIfNullOrEmpty(kid);
        var nonce = RandomNumberGenerator.GetBytes(NonceSize);
        var tag = new byte[TagSize];
        var ciphertext = new byte[plaintext.Length];
        _aes.Encrypt(nonce, plaintext, ciphertext, tag, Encoding.UTF8.GetBytes(kid));
        return new EncryptedKey(nonce, tag, ciphertext);
    }

    /// <exception cref="CryptographicException">Wrong secret, altered data, or data of another kid.</exception>
    public byte[] Decrypt(EncryptedKey sealedKey, string kid)
    {
        ArgumentNullException.ThrowIfNull(sealedKey);
        ArgumentException.ThrowIfNullOrEmpty(kid);
        if (sealedKey.Nonce.Length != NonceSize || sealedKey.Tag.Length != TagSize)
        {
            throw new CryptographicException("The encrypted key has a bad nonce or tag size.");
        }

        var plaintext = new byte[sealedKey.Ciphertext.Length];
        _aes.Decrypt(sealedKey.Nonce, sealedKey.Ciphertext, sealedKey.Tag, plaintext, Encoding.UTF8.GetBytes(kid));
        return plaintext;
    }

    public void Dispose() => _aes.Dispose();
}
