using System.Security.Cryptography;
using SmartHub.AuthService.Signing;

namespace SmartHub.UnitTests.Identity;

public sealed class KeyEncryptionTests
{
    private const string Secret = "0123456789abcdef0123456789abcdef";
    private static readonly byte[] Plaintext = RandomNumberGenerator.GetBytes(138);

    [Fact]
    public void Encrypted_key_decrypts_to_the_original()
    {
        using var encryption = new KeyEncryption(Secret);

        var sealedKey = encryption.Encrypt(Plaintext, "kid-1");

        Assert.Equal(12, sealedKey.Nonce.Length);
        Assert.Equal(16, sealedKey.Tag.Length);
        Assert.NotEqual(Plaintext, sealedKey.Ciphertext);
        Assert.Equal(Plaintext, encryption.Decrypt(sealedKey, "kid-1"));
    }

    [Fact]
    public void Each_encryption_uses_a_fresh_nonce()
    {
        using var encryption = new KeyEncryption(Secret);

        var first = encryption.Encrypt(Plaintext, "kid-1");
        var second = encryption.Encrypt(Plaintext, "kid-1");

        Assert.NotEqual(first.Nonce, second.Nonce);
        Assert.NotEqual(first.Ciphertext, second.Ciphertext);
    }

    [Theory]
    [InlineData("ciphertext")]
    [InlineData("tag")]
    [InlineData("nonce")]
    public void Any_altered_bit_is_detected(string part)
    {
        using var encryption = new KeyEncryption(Secret);
        var sealedKey = encryption.Encrypt(Plaintext, "kid-1");
        var target = part switch { "ciphertext" => sealedKey.Ciphertext, "tag" => sealedKey.Tag, _ => sealedKey.Nonce };

        target[^1] ^= 0x01;

        Assert.ThrowsAny<CryptographicException>(() => encryption.Decrypt(sealedKey, "kid-1"));
    }

    [Fact]
    public void A_ciphertext_moved_to_another_kid_does_not_decrypt()
    {
        using var encryption = new KeyEncryption(Secret);
        var sealedKey = encryption.Encrypt(Plaintext, "kid-1");

        Assert.ThrowsAny<CryptographicException>(() => encryption.Decrypt(sealedKey, "kid-2"));
    }

    [Fact]
    public void Another_secret_cannot_decrypt()
    {
        using var encryption = new KeyEncryption(Secret);
        using var other = new KeyEncryption("fedcba9876543210fedcba9876543210");
        var sealedKey = encryption.Encrypt(Plaintext, "kid-1");

        Assert.ThrowsAny<CryptographicException>(() => other.Decrypt(sealedKey, "kid-1"));
    }

    [Fact]
    public void The_aes_key_is_hkdf_sha256_of_the_secret_as_documented()
    {
        using var encryption = new KeyEncryption(Secret);
        var sealedKey = encryption.Encrypt(Plaintext, "kid-1");
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, System.Text.Encoding.UTF8.GetBytes(Secret), 32,
            "smarthub/authdb/signing-keys"u8.ToArray(), "aes-256-gcm/v1"u8.ToArray());
        using var aes = new AesGcm(key, 16);
        var plaintext = new byte[sealedKey.Ciphertext.Length];

        aes.Decrypt(sealedKey.Nonce, sealedKey.Ciphertext, sealedKey.Tag, plaintext, "kid-1"u8);

        Assert.Equal(Plaintext, plaintext);
    }
}
