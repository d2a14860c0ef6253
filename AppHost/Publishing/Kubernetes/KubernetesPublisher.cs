namespace SmartHub.Hosting.Publishing.Kubernetes;

/// <summary>A kustomize tree for Kubernetes. TODO(helper): implement.</summary>
internal sealed class KubernetesPublisher : IPublisher
{
    public Task<IReadOnlyList<string>> PublishAsync(PublishContext context, CancellationToken cancellationToken) =>
        throw new DistributedApplicationException("The Kubernetes publisher is not built yet.");
}
