using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.UnitTests.Identity;

public sealed class ApiKeyFormatTests
{
    [Fact]
    public void Keys_are_shk_prefix_plus_32_random_bytes_url_safe()
    {
        var key = ApiKeyFormat.Generate();

        Assert.StartsWith("shk_", key, StringComparison.Ordinal);
        Assert.Equal(47, key.Length);
        Assert.All(key[4..], c => Assert.True(char.IsAsciiLetterOrDigit(c) || c is '-' or '_', $"'{c}' is not URL-safe"));
        Assert.Equal(32, Base64Url.DecodeFromChars(key.AsSpan(4)).Length);
        Assert.True(ApiKeyFormat.IsWellFormed(key));
    }

    [Fact]
    public void Keys_do_not_repeat_and_use_the_whole_alphabet()
    {
        var keys = Enumerable.Range(0, 2000).Select(_ => ApiKeyFormat.Generate()).ToList();

        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
        var symbols = keys.SelectMany(k => k[4..^1]).Distinct().Count(); // the last char carries only 4 bits
        Assert.Equal(64, symbols);
    }

    [Fact]
    public void Visible_prefix_is_the_8_characters_after_shk()
    {
        var key = ApiKeyFormat.Generate();

        Assert.Equal(key.Substring(4, 8), ApiKeyFormat.VisiblePrefix(key));
    }

    [Theory]
    [InlineData("")]
    [InlineData("shk_")]
    [InlineData("shk_short")]
    [InlineData("sk-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("SHK_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("shk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+")]
    [InlineData("shk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("shk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void Malformed_keys_are_refused_before_any_lookup(string key)
    {
        Assert.False(ApiKeyFormat.IsWellFormed(key));
    }

    [Fact]
    public void Hash_is_lower_case_hex_sha256_of_the_whole_key()
    {
        var key = ApiKeyFormat.Generate();

        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(key)));

        Assert.Equal(expected, ApiKeyFormat.HashHex(key));
        Assert.True(ApiKeyHash.TryParseHex(expected, out var parsed));
        Assert.Equal(ApiKeyFormat.Hash(key), parsed);
        Assert.Equal(expected, parsed.ToHex());
        Assert.False(ApiKeyHash.TryParseHex(expected.AsSpan(0, 63), out _));
        Assert.False(ApiKeyHash.TryParseHex(expected[..^1] + "z", out _));
    }
}
