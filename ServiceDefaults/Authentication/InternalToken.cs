using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>Checks the <c>X-Internal-Token</c> header against <c>Internal:Token</c> in constant time.</summary>
public sealed class InternalTokenVerifier
{
    private readonly byte[] _expectedDigest;

    public InternalTokenVerifier(IOptions<InternalOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _expectedDigest = SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.Token));
    }

    /// <summary>
    /// Both sides are hashed first so that <see cref="CryptographicOperations.FixedTimeEquals"/> compares equal lengths:
    /// the time taken reveals neither the token's content nor its length.
    /// </summary>
    public bool IsValid(string? presented)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return false;
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), digest);
        return CryptographicOperations.FixedTimeEquals(digest, _expectedDigest);
    }
}

public static class InternalTokenExtensions
{
    /// <summary>
    /// Requires <c>X-Internal-Token</c> == <c>Internal:Token</c> (constant-time); otherwise 401 ProblemDetails. For
    /// service-to-service endpoints under <c>/internal</c>, which the gateway never routes. Needs
    /// <c>AddSmartHubAuthentication()</c> (or at least the <see cref="InternalOptions"/>).
    /// Note: filters run after parameter binding; an endpoint that must not parse bodies of strangers should read its
    /// body itself.
    /// </summary>
    public static TBuilder RequireInternalToken<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddEndpointFilter(new InternalTokenFilter());
    }

    private sealed class InternalTokenFilter : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var http = context.HttpContext;
            var verifier = http.RequestServices.GetService<InternalTokenVerifier>()
                ?? ActivatorUtilities.CreateInstance<InternalTokenVerifier>(http.RequestServices);
            var presented = http.Request.Headers[SmartHubAuth.InternalTokenHeader];
            if (presented.Count != 1 || !verifier.IsValid(presented[0]))
            {
                return TypedResults.Problem(
                    statusCode: StatusCodes.Status401Unauthorized,
                    title: "Internal token required",
                    detail: $"This endpoint is for SmartHub services only: send the {SmartHubAuth.InternalTokenHeader} header.",
                    type: SmartHubProblemTypes.InvalidInternalToken);
            }

            return await next(context);
        }
    }
}
