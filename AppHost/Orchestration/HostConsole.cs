using System.Globalization;

namespace SmartHub.Hosting.Orchestration;

/// <summary>The AppHost's console: its own messages as <c>[apphost]</c>, each resource's output prefixed with its name.</summary>
internal static class HostConsole
{
    private static readonly Lock Gate = new();
    private static readonly bool Colors = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null;
    private static readonly ConsoleColor[] Palette = [ConsoleColor.Cyan, ConsoleColor.Green, ConsoleColor.Magenta, ConsoleColor.Yellow, ConsoleColor.Blue, ConsoleColor.DarkCyan, ConsoleColor.DarkGreen, ConsoleColor.DarkMagenta];

    /// <summary>False under the testing builder by default: output is kept per resource instead.</summary>
    public static bool Enabled { get; set; } = true;

    public static void Info(string message) => Write("apphost", message, ConsoleColor.White);

    public static void Warn(string message) => Write("apphost", message, ConsoleColor.Yellow);

    public static void Error(string message) => Write("apphost", message, ConsoleColor.Red);

    public static void ResourceLine(string resource, string line) =>
        Write(resource, line, Palette[(int)((uint)StringComparer.Ordinal.GetHashCode(resource) % Palette.Length)]);

    private static void Write(string prefix, string message, ConsoleColor color)
    {
        if (!Enabled)
        {
            return;
        }

        lock (Gate)
        {
            if (Colors)
            {
                Console.ForegroundColor = color;
                Console.Write($"[{prefix}] ");
                Console.ResetColor();
                Console.WriteLine(message);
            }
            else
            {
                Console.WriteLine($"[{prefix}] {message}");
            }
        }
    }

    public static void PrintResourceTable(IEnumerable<ResourceSnapshot> snapshots, TimeSpan elapsed, string? dashboardLoginUrl)
    {
        var rows = snapshots.Where(s => s.Kind != "Parameter").ToList();
        var lines = new List<string>
        {
            string.Format(CultureInfo.InvariantCulture, "{0,-10} {1,-11} {2,-9} {3,-8} {4}", "RESOURCE", "TYPE", "STATE", "PID", "ENDPOINT"),
        };
        lines.AddRange(rows.Select(s => string.Format(
            CultureInfo.InvariantCulture, "{0,-10} {1,-11} {2,-9} {3,-8} {4}",
            s.Name, s.Kind, s.IsHealthy ? "Healthy" : s.State, s.ProcessId?.ToString(CultureInfo.InvariantCulture) ?? "-", s.Endpoint ?? "-")));
        var gateway = rows.FirstOrDefault(r => r.Name == "gateway")?.Endpoint;
        lines.Add(string.Format(CultureInfo.InvariantCulture, "All {0} resources healthy in {1:0.00} s.{2} Ctrl+C stops everything.",
            rows.Count, elapsed.TotalSeconds, gateway is null ? string.Empty : $" The hub: {gateway}"));
        lines.Add(dashboardLoginUrl is null
            ? "Dashboard: off (SMARTHUB_DASHBOARD_ENABLED=false)."
            : $"Dashboard: {dashboardLoginUrl}  (this link signs you in; it changes at every start)");
        if (!Enabled)
        {
            return;
        }

        lock (Gate)
        {
            Console.WriteLine();
            foreach (var line in lines)
            {
                Console.WriteLine("  " + line);
            }

            Console.WriteLine();
        }
    }
}
