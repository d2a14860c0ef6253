using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>
/// The API-key format: <c>shk_</c> + 32 random bytes in base64url without padding (43 characters), 47 characters in all.
/// The visible prefix is the first 8 characters after <c>shk_</c>.
/// </summary>
/// <remarks>
/// Keys are stored and looked up by SHA-256 of the full key, not by a slow password hash: a key carries 256 bits of
/// entropy, so nobody can guess it from its hash by brute force whatever the hash speed, and a fast hash keeps every
/// request's lookup cheap. (Slow, salted hashes exist for low-entropy secrets chosen by people — passwords.)
/// </remarks>
public static class ApiKeyFormat
{
    public const int RandomBytes = 32;

    /// <summary>Base64url length of <see cref="RandomBytes"/> without padding.</summary>
    public const int RandomLength = 43;

    public const int Length = 4 + RandomLength;

    public const int VisiblePrefixLength = 8;

    /// <summary>A new key from the OS's cryptographic random generator.</summary>
    public static string Generate()
    {
        Span<byte> random = stackalloc byte[RandomBytes];
        RandomNumberGenerator.Fill(random);
        return SmartHubAuth.ApiKeyPrefix + Base64Url.EncodeToString(random);
    }

    /// <summary>True for <c>shk_</c> + 43 base64url characters. Cheap: run before any lookup.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> key)
    {
        if (key.Length != Length || !key.StartsWith(SmartHubAuth.ApiKeyPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in key[4..])
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The first 8 characters after <c>shk_</c>, shown in listings.</summary>
    public static string VisiblePrefix(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!IsWellFormed(key))
        {
            throw new ArgumentException("Not an API key.", nameof(key));
        }

        return key.Substring(4, VisiblePrefixLength);
    }

    /// <summary>SHA-256 of the key's ASCII bytes.</summary>
    public static ApiKeyHash Hash(ReadOnlySpan<char> key)
    {
        Span<byte> ascii = stackalloc byte[Length * 3];
        var count = Encoding.UTF8.GetBytes(key, ascii);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(ascii[..count], digest);
        return ApiKeyHash.FromBytes(digest);
    }

    /// <summary>Lower-case hex SHA-256 of the key: what authdb stores and Redis keys use.</summary>
    public static string HashHex(ReadOnlySpan<char> key) => Hash(key).ToHex();
}

/// <summary>A SHA-256 digest as a value type: a dictionary key without allocations on the lookup path.</summary>
public readonly struct ApiKeyHash : IEquatable<ApiKeyHash>
{
    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    private ApiKeyHash(ulong a, ulong b, ulong c, ulong d)
    {
        _a = a;
        _b = b;
        _c = c;
        _d = d;
    }

    public static ApiKeyHash FromBytes(ReadOnlySpan<byte> digest)
    {
        if (digest.Length != SHA256.HashSizeInBytes)
        {
            throw new ArgumentException("A SHA-256 digest has 32 bytes.", nameof(digest));
        }

        return new(
            BinaryPrimitives.ReadUInt64BigEndian(digest),
            BinaryPrimitives.ReadUInt64BigEndian(digest[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(digest[16..]),
            BinaryPrimitives.ReadUInt64BigEndian(digest[24..]));
    }

    public static bool TryParseHex(ReadOnlySpan<char> hex, out ApiKeyHash hash)
    {
        hash = default;
        if (hex.Length != SHA256.HashSizeInBytes * 2)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[SHA256.HashSizeInBytes];
        if (Convert.FromHexString(hex, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != bytes.Length)
        {
            return false;
        }

        hash = FromBytes(bytes);
        return true;
    }

    public string ToHex()
    {
        Span<byte> bytes = stackalloc byte[SHA256.HashSizeInBytes];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, _a);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[24..], _d);
        return Convert.ToHexStringLower(bytes);
    }

    public bool Equals(ApiKeyHash other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals([NotNullWhen(true)] object? obj) => obj is ApiKeyHash other && Equals(other);

    // Seeded per process (HashCode): anyone can pick keys whose digests collide in a fixed 32-bit projection and so
    // flood one bucket of the cache; the random seed takes that away.
    public override int GetHashCode() => HashCode.Combine(_a, _b);

    public static bool operator ==(ApiKeyHash left, ApiKeyHash right) => left.Equals(right);

    public static bool operator !=(ApiKeyHash left, ApiKeyHash right) => !left.Equals(right);

    public override string ToString() => ToHex();
}
