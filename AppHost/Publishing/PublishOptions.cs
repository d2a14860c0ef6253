using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace SmartHub.Hosting.Publishing;

/// <summary>
/// Publish mode, as Aspire's AppHost has it: <c>--publisher manifest|kubernetes --output-path PATH</c> writes what a
/// deployment needs from the graph instead of running it. Kubernetes takes <c>--image-registry</c>, <c>--image-tag</c>
/// and <c>--namespace</c> too.
/// </summary>
public sealed partial record PublishOptions
{
    public const string Manifest = "manifest";
    public const string Kubernetes = "kubernetes";

    /// <summary><c>manifest</c> (Aspire's aspire-manifest.json) or <c>kubernetes</c> (a kustomize tree).</summary>
    public required string Publisher { get; init; }

    /// <summary>A file for the manifest, a directory for Kubernetes; relative to the current directory.</summary>
    public required string OutputPath { get; init; }

    /// <summary>Prefix of the services' images (<c>registry.example.com/smarthub</c>); none: the images' bare names.</summary>
    public string? ImageRegistry { get; init; }

    public string ImageTag { get; init; } = "latest";

    public string Namespace { get; init; } = "smarthub";

    /// <summary>Null when the AppHost is not asked to publish (it runs the graph).</summary>
    internal static PublishOptions? From(IConfiguration config)
    {
        var publisher = config["publisher"];
        if (string.IsNullOrWhiteSpace(publisher))
        {
            return null;
        }

        var problems = new List<string>();
        if (publisher is not (Manifest or Kubernetes))
        {
            problems.Add($"--publisher must be '{Manifest}' or '{Kubernetes}', not '{publisher}'.");
        }

        var output = config["output-path"];
        if (string.IsNullOrWhiteSpace(output))
        {
            problems.Add(publisher == Kubernetes
                ? "--output-path DIR is required (the folder the kustomize tree is written to)."
                : "--output-path FILE is required (e.g. aspire-manifest.json).");
        }

        var registry = config["image-registry"];
        if (registry is not null && !Registry().IsMatch(registry))
        {
            problems.Add($"--image-registry must be a registry host and optional path without a scheme (registry.example.com/smarthub), not '{registry}'.");
        }

        var tag = config["image-tag"] ?? "latest";
        if (!Tag().IsMatch(tag))
        {
            problems.Add($"--image-tag must be 1-128 letters, digits, '_', '.' or '-' (not starting with '.' or '-'), not '{tag}'.");
        }

        var ns = config["namespace"] ?? "smarthub";
        if (!DnsLabel().IsMatch(ns))
        {
            problems.Add($"--namespace must be a DNS label (1-63 lowercase letters, digits and '-', starting and ending with a letter or digit), not '{ns}'.");
        }

        if (problems.Count > 0)
        {
            throw new DistributedApplicationException("Cannot publish:" + string.Concat(problems.Select(p => Environment.NewLine + "  - " + p)));
        }

        return new PublishOptions
        {
            Publisher = publisher,
            OutputPath = Path.GetFullPath(output!),
            ImageRegistry = string.IsNullOrWhiteSpace(registry) ? null : registry.TrimEnd('/'),
            ImageTag = tag,
            Namespace = ns,
        };
    }

    [GeneratedRegex(@"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9._-]+)*/?$")]
    private static partial Regex Registry();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex Tag();

    [GeneratedRegex(@"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();
}
