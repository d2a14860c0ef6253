using System.Security.Cryptography;

namespace SmartHub.Gateway.SecurityHeaders;

/// <summary>
/// The per-request Content-Security-Policy nonce: 16 bytes from the cryptographic RNG, base64. A page that needs an
/// inline script or style puts it in <c>nonce="..."</c>; <see cref="GetCspNonce"/> returns it, and the response's CSP
/// names the same value.
/// </summary>
public static class CspNonce
{
    private const int Bytes = 16;

    // Random bytes are drawn from the OS generator 1 KiB at a time per thread and each 16-byte slice is used once:
    // the same cryptographic randomness, one call into OpenSSL per 64 nonces instead of one per request.
    private const int BufferBytes = 64 * Bytes;

    [ThreadStatic]
    private static byte[]? t_buffer;

    [ThreadStatic]
    private static int t_offset;

    public static string Create()
    {
        var buffer = t_buffer;
        if (buffer is null || t_offset >= BufferBytes)
        {
            buffer = t_buffer ??= new byte[BufferBytes];
            RandomNumberGenerator.Fill(buffer);
            t_offset = 0;
        }

        var slice = buffer.AsSpan(t_offset, Bytes);
        t_offset += Bytes;
        var nonce = Convert.ToBase64String(slice);
        slice.Clear(); // never handed out twice, not even by a later bug
        return nonce;
    }

    /// <summary>The nonce of the current request, or null outside the gateway's pipeline.</summary>
    public static string? GetCspNonce(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<Edge.EdgeResponse>()?.Nonce;
    }
}
