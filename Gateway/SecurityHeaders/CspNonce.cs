using SmartHub.ServiceDefaults.Security;

namespace SmartHub.Gateway.SecurityHeaders;

/// <summary>
/// The per-request Content-Security-Policy nonce: 16 bytes from the cryptographic RNG (through
/// <see cref="BufferedRandom"/>), base64. A page that needs an inline script or style puts it in <c>nonce="..."</c>;
/// <see cref="GetCspNonce"/> returns it, and the response's CSP names the same value.
/// </summary>
public static class CspNonce
{
    private const int Bytes = 16;

    public static string Create()
    {
        Span<byte> bytes = stackalloc byte[Bytes];
        BufferedRandom.Fill(bytes);
        return Convert.ToBase64String(bytes);
    }

    /// <summary>The nonce of the current request, or null outside the gateway's pipeline.</summary>
    public static string? GetCspNonce(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<Edge.EdgeResponse>()?.Nonce;
    }
}
