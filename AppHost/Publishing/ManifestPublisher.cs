namespace SmartHub.Hosting.Publishing;

/// <summary>Aspire's deployment manifest (aspire-manifest.json). TODO(helper): implement.</summary>
internal sealed class ManifestPublisher : IPublisher
{
    public Task<IReadOnlyList<string>> PublishAsync(PublishContext context, CancellationToken cancellationToken) =>
        throw new DistributedApplicationException("The manifest publisher is not built yet.");
}
