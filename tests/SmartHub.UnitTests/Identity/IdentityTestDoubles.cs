using System.Reflection;
using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.UnitTests.Identity;

/// <summary>A clock the test moves by hand (wall time and timestamps together).</summary>
internal sealed class IdentityClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks;

    public DateTimeOffset Now => start + TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => Now;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
}

/// <summary>A JWKS with fixed keys; can be made unavailable.</summary>
internal sealed class StaticJwksProvider(params SecurityKey[] keys) : IJwksProvider
{
    public bool Unavailable { get; set; }

    public int Lookups { get; private set; }

    public ValueTask<SecurityKey?> GetSigningKeyAsync(string kid, CancellationToken cancellationToken)
    {
        Lookups++;
        if (Unavailable)
        {
            throw new JwksUnavailableException("test: auth service down");
        }

        return ValueTask.FromResult(keys.FirstOrDefault(k => k.KeyId == kid));
    }
}

/// <summary>A fresh ES256 key pair with its kid, as AuthService makes them.</summary>
internal sealed class TestSigningKey : IDisposable
{
    public TestSigningKey()
    {
        Ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Kid = EcJwk.Thumbprint(Ecdsa);
        Private = new ECDsaSecurityKey(Ecdsa) { KeyId = Kid };
        Credentials = new SigningCredentials(Private, SecurityAlgorithms.EcdsaSha256);
        Jwk = EcJwk.FromKey(Ecdsa, Kid);
        Public = EcJwk.ToSecurityKey(Jwk)!;
    }

    public ECDsa Ecdsa { get; }

    public string Kid { get; }

    public ECDsaSecurityKey Private { get; }

    public SigningCredentials Credentials { get; }

    public EcPublicJwk Jwk { get; }

    /// <summary>Rebuilt from the JWK, as a service sees it.</summary>
    public ECDsaSecurityKey Public { get; }

    public void Dispose() => Ecdsa.Dispose();
}

/// <summary>Finds which methods a compiled method calls (to check that secrets are compared in constant time).</summary>
internal static class IlCalls
{
    public static IReadOnlyList<MethodBase> Of(MethodInfo method)
    {
        var il = method.GetMethodBody()!.GetILAsByteArray()!;
        var calls = new List<MethodBase>();
        for (var i = 0; i + 4 < il.Length; i++)
        {
            // call (0x28) / callvirt (0x6F) followed by a 4-byte method token (table 0x06 MethodDef or 0x0A MemberRef/0x2B MethodSpec)
            if (il[i] is 0x28 or 0x6F && il[i + 4] is 0x06 or 0x0A or 0x2B)
            {
                var token = BitConverter.ToInt32(il, i + 1);
                try
                {
                    if (method.Module.ResolveMethod(token) is { } callee)
                    {
                        calls.Add(callee);
                    }
                }
                catch (ArgumentException)
                {
                    // not a method token: a coincidence in the byte stream
                }
            }
        }

        return calls;
    }

    public static bool Calls(MethodInfo method, Type type, string name) =>
        Of(method).Any(m => m.DeclaringType == type && m.Name == name);
}
