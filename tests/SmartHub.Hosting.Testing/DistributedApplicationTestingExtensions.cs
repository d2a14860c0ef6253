namespace SmartHub.Hosting.Testing;

public static class DistributedApplicationTestingExtensions
{
    /// <summary>PIDs of every process resource that is running now.</summary>
    public static IReadOnlyDictionary<string, int> GetProcessIds(this DistributedApplication app) =>
        app.ResourceNotifications.Snapshots.Where(s => s.ProcessId is not null).ToDictionary(s => s.Name, s => s.ProcessId!.Value);

    /// <summary>The recent console output of a resource, for diagnosing a failed test.</summary>
    public static IReadOnlyList<string> GetResourceLogs(this DistributedApplication app, string resourceName, int lines = 200) =>
        app.GetLog(resourceName).Tail(lines);
}
