using System.Text.RegularExpressions;
using SmartHub.Hosting.Orchestration;

namespace SmartHub.Hosting.Dashboard;

/// <summary>What the dashboard sees of the running graph and may do to it.</summary>
internal sealed partial class DashboardResources(IReadOnlyList<Resource> resources, ResourceNotificationService notifications, Orchestrator orchestrator)
{
    private const string Mask = "••••••••";

    /// <summary>Every resource but parameters (their values reach the resources' environments, masked there).</summary>
    public IReadOnlyList<ResourceSnapshot> Snapshots =>
        [.. notifications.Snapshots.Where(s => s.Kind != "Parameter")];

    public ResourceSnapshot? Find(string name) =>
        notifications.TryGetSnapshot(name, out var snapshot) && snapshot.Kind != "Parameter" ? snapshot : null;

    public ResourceLog GetLog(string name) => orchestrator.GetLog(name);

    public bool IsControllable(string name) => orchestrator.IsControllable(name);

    public Task StopAsync(string name, CancellationToken cancellationToken) => orchestrator.StopResourceAsync(name, cancellationToken);

    public Task StartAsync(string name, CancellationToken cancellationToken) => orchestrator.StartResourceAsync(name, cancellationToken);

    public Task RestartAsync(string name, CancellationToken cancellationToken) => orchestrator.RestartResourceAsync(name, cancellationToken);

    /// <summary>The resource's environment, each value with whether it is a secret (masked until revealed).</summary>
    public IReadOnlyList<(string Key, string Value, bool Secret)> Environment(string name) =>
        [.. orchestrator.GetEnvironment(name).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value, IsSecret(kv.Key, kv.Value)))];

    public static string Masked => Mask;

    /// <summary>
    /// A secret: a name that says so (password, secret, token, key, connection strings, OTLP headers), or a value that
    /// contains any secret parameter's value (a password inside a URL or connection string under an innocent name).
    /// </summary>
    public bool IsSecret(string key, string value) =>
        SecretName().IsMatch(key)
        || resources.OfType<ParameterResource>().Any(p => p.Secret && p.Value is { Length: >= 8 } secret && value.Contains(secret, StringComparison.Ordinal));

    /// <summary>The resource whose endpoint listens on this port (to name the peer of a client span: "postgres").</summary>
    public string? ResourceListeningOn(string? port) =>
        port is null ? null : notifications.Snapshots.FirstOrDefault(s => s.Kind is "PostgreSQL" or "Redis" or "Project" && s.Endpoint?.EndsWith(":" + port, StringComparison.Ordinal) == true)?.Name;

    [GeneratedRegex("password|passwd|secret|token|apikey|api_key|_key$|__key|encryptionkey|connectionstrings__|otlp_headers", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();
}
