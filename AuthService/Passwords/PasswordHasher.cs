using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace SmartHub.AuthService.Passwords;

public enum PasswordVerification
{
    Failed,
    Success,

    /// <summary>Correct, but hashed with an older version or fewer iterations than required now: store a new hash.</summary>
    SuccessRehashNeeded,
}

/// <summary>
/// PBKDF2-HMAC-SHA256 password hashes in a PHC-style string, <c>$pbkdf2-sha256$v=1$i=600000$&lt;salt&gt;$&lt;hash&gt;</c>
/// (base64 without padding, 16-byte random salt, 32-byte hash). The version and iteration count travel with each hash,
/// so the cost can rise: <see cref="Verify"/> says when a stored hash is weaker than the current setting. The
/// iteration count is a parameter (the service passes Auth:PasswordIterations, ≥ 600,000); tests pass small ones.
/// Hashes are compared with <see cref="CryptographicOperations.FixedTimeEquals"/>.
/// </summary>
public static class PasswordHasher
{
    public const string Algorithm = "pbkdf2-sha256";
    public const int Version = 1;
    public const int SaltSize = 16;
    public const int HashSize = 32;

    /// <summary>Upper bound accepted from a stored hash, so a corrupted row cannot make a login run for minutes.</summary>
    public const int MaxIterations = 100_000_000;

    private static readonly string s_prefix = $"${Algorithm}$v={Version}$i=";

    public static string Hash(string password, int iterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(iterations, MaxIterations);

        Span<byte> salt = stackalloc byte[SaltSize];
        RandomNumberGenerator.Fill(salt);
        Span<byte> hash = stackalloc byte[HashSize];
        Derive(password, salt, iterations, hash);
        return string.Create(CultureInfo.InvariantCulture,
            $"{s_prefix}{iterations}${ToBase64(salt)}${ToBase64(hash)}");
    }

    public static PasswordVerification Verify(string password, string encoded, int requiredIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(encoded);

        if (!TryParse(encoded, out var version, out var iterations, out var salt, out var expected))
        {
            // Still spend the work, so a broken row does not answer faster than a real one.
            Simulate(password, requiredIterations);
            return PasswordVerification.Failed;
        }

        Span<byte> actual = stackalloc byte[HashSize];
        Derive(password, salt, iterations, actual);
        if (!CryptographicOperations.FixedTimeEquals(actual, expected))
        {
            return PasswordVerification.Failed;
        }

        return version < Version || iterations < requiredIterations
            ? PasswordVerification.SuccessRehashNeeded
            : PasswordVerification.Success;
    }

    /// <summary>The same work as a verification, for an unknown account, so timing does not tell whether it exists.</summary>
    public static void Simulate(string password, int iterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        Span<byte> salt = stackalloc byte[SaltSize];
        Span<byte> actual = stackalloc byte[HashSize];
        Span<byte> expected = stackalloc byte[HashSize];
        Derive(password, salt, Math.Clamp(iterations, 1, MaxIterations), actual);
        _ = CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    public static bool TryParse(string encoded, out int version, out int iterations, out byte[] salt, out byte[] hash)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        version = 0;
        iterations = 0;
        salt = [];
        hash = [];

        // ["", "pbkdf2-sha256", "v=1", "i=600000", salt, hash]
        var parts = encoded.Split('$');
        if (parts.Length != 6 || parts[0].Length != 0 || parts[1] != Algorithm
            || !parts[2].StartsWith("v=", StringComparison.Ordinal)
            || !int.TryParse(parts[2].AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out version)
            || !parts[3].StartsWith("i=", StringComparison.Ordinal)
            || !int.TryParse(parts[3].AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out iterations)
            || version < 1 || version > Version || iterations < 1 || iterations > MaxIterations)
        {
            return false;
        }

        try
        {
            salt = FromBase64(parts[4]);
            hash = FromBase64(parts[5]);
        }
        catch (FormatException)
        {
            return false;
        }

        return salt.Length == SaltSize && hash.Length == HashSize;
    }

    private static void Derive(string password, ReadOnlySpan<byte> salt, int iterations, Span<byte> destination)
    {
        // One-shot API: no per-iteration allocations, OpenSSL does the loop.
        var bytes = Encoding.UTF8.GetBytes(password);
        try
        {
            Rfc2898DeriveBytes.Pbkdf2(bytes, salt, destination, iterations, HashAlgorithmName.SHA256);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    private static string ToBase64(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    private static byte[] FromBase64(string text)
    {
        var padded = (text.Length % 4) switch
        {
            2 => text + "==",
            3 => text + "=",
            _ => text,
        };
        return Convert.FromBase64String(padded);
    }
}
