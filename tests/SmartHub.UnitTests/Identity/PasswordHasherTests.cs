using System.Security.Cryptography;
using SmartHub.AuthService.Options;
using SmartHub.AuthService.Passwords;

namespace SmartHub.UnitTests.Identity;

public sealed class PasswordHasherTests
{
    // The cost itself is not under test here: small counts keep the suite fast. The service passes Auth:PasswordIterations.
    private const int Iterations = 1_000;

    [Fact]
    public void Hash_is_a_versioned_pbkdf2_sha256_string_with_salt_and_iterations()
    {
        var hash = PasswordHasher.Hash("correct horse battery staple", Iterations);

        var parts = hash.Split('$');
        Assert.Equal(["", "pbkdf2-sha256", "v=1", $"i={Iterations}"], parts[..4]);
        Assert.True(PasswordHasher.TryParse(hash, out var version, out var iterations, out var salt, out var derived));
        Assert.Equal(1, version);
        Assert.Equal(Iterations, iterations);
        Assert.Equal(16, salt.Length);
        Assert.Equal(32, derived.Length);
        Assert.Equal(Rfc2898DeriveBytes.Pbkdf2("correct horse battery staple"u8, salt, iterations, HashAlgorithmName.SHA256, 32), derived);
    }

    [Fact]
    public void Same_password_hashes_differently_every_time()
    {
        Assert.NotEqual(PasswordHasher.Hash("same password here", Iterations), PasswordHasher.Hash("same password here", Iterations));
    }

    [Fact]
    public void Right_password_verifies_and_wrong_one_does_not()
    {
        var hash = PasswordHasher.Hash("correct horse battery staple", Iterations);

        Assert.Equal(PasswordVerification.Success, PasswordHasher.Verify("correct horse battery staple", hash, Iterations));
        Assert.Equal(PasswordVerification.Failed, PasswordHasher.Verify("correct horse battery stapl", hash, Iterations));
        Assert.Equal(PasswordVerification.Failed, PasswordHasher.Verify("Correct horse battery staple", hash, Iterations));
    }

    [Fact]
    public void Rehash_is_needed_when_the_configured_iterations_rise()
    {
        var hash = PasswordHasher.Hash("correct horse battery staple", Iterations);

        Assert.Equal(PasswordVerification.SuccessRehashNeeded, PasswordHasher.Verify("correct horse battery staple", hash, Iterations * 2));
        Assert.Equal(PasswordVerification.Success, PasswordHasher.Verify("correct horse battery staple", hash, Iterations / 2));
        Assert.Equal(PasswordVerification.Failed, PasswordHasher.Verify("wrong password!!", hash, Iterations * 2));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain")]
    [InlineData("$pbkdf2-sha256$v=1$i=1000$c2FsdA$aGFzaA")]               // salt and hash too short
    [InlineData("$pbkdf2-sha256$v=9$i=1000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // unknown version
    [InlineData("$pbkdf2-sha256$v=1$i=999999999$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // absurd cost
    [InlineData("$bcrypt$v=1$i=1000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void Malformed_stored_hashes_never_verify(string stored)
    {
        Assert.Equal(PasswordVerification.Failed, PasswordHasher.Verify("any password at all", stored, Iterations));
    }

    [Fact]
    public void Hashes_are_compared_in_constant_time()
    {
        var verify = typeof(PasswordHasher).GetMethod(nameof(PasswordHasher.Verify))!;

        Assert.True(IlCalls.Calls(verify, typeof(CryptographicOperations), nameof(CryptographicOperations.FixedTimeEquals)));
        Assert.False(IlCalls.Calls(verify, typeof(MemoryExtensions), nameof(MemoryExtensions.SequenceEqual)));
    }

    [Fact]
    public void Production_cost_is_at_least_owasp_600000_iterations()
    {
        Assert.Equal(600_000, new AuthOptions().PasswordIterations);
        var range = typeof(AuthOptions).GetProperty(nameof(AuthOptions.PasswordIterations))!
            .GetCustomAttributes(typeof(System.ComponentModel.DataAnnotations.RangeAttribute), false)
            .Cast<System.ComponentModel.DataAnnotations.RangeAttribute>().Single();
        Assert.Equal(600_000, range.Minimum);
    }

    [Fact]
    public void A_hash_made_at_the_production_cost_verifies_and_records_it()
    {
        var hash = PasswordHasher.Hash("correct horse battery staple", AuthOptions.MinimumPasswordIterations);

        Assert.Contains("$i=600000$", hash, StringComparison.Ordinal);
        Assert.Equal(PasswordVerification.Success, PasswordHasher.Verify("correct horse battery staple", hash, AuthOptions.MinimumPasswordIterations));
    }
}
