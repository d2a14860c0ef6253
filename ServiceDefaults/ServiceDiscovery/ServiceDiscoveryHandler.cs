namespace SmartHub.ServiceDefaults.ServiceDiscovery;

/// <summary>Rewrites <c>http://core/...</c> request URIs to the configured address of "core".</summary>
public sealed class ServiceDiscoveryHandler(ServiceEndpointResolver resolver) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        if (request.RequestUri is { IsAbsoluteUri: true } uri)
        {
            request.RequestUri = resolver.Resolve(uri);
        }

        return base.SendAsync(request, cancellationToken);
    }
}
