namespace SmartHub.Hosting.Publishing;

/// <summary>What a publisher is given: the declared graph (replicas not expanded) and the options.</summary>
internal sealed record PublishContext(IReadOnlyList<Resource> Resources, PublishOptions Options, string AppHostDirectory);

/// <summary>Writes a deployment's description of the graph.</summary>
internal interface IPublisher
{
    /// <summary>Writes the output; returns what was written (files), for the AppHost to report.</summary>
    Task<IReadOnlyList<string>> PublishAsync(PublishContext context, CancellationToken cancellationToken);
}

internal static class Publishers
{
    public static IPublisher For(string publisher) => publisher switch
    {
        PublishOptions.Manifest => new ManifestPublisher(),
        PublishOptions.Kubernetes => new Kubernetes.KubernetesPublisher(),
        _ => throw new DistributedApplicationException($"Unknown publisher '{publisher}'."),
    };
}
