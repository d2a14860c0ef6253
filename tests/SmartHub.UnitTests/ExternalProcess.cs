using System.Diagnostics;

namespace SmartHub.UnitTests;

/// <summary>
/// Runs a command-line tool the tests check things with (promtool, kubectl, node, git, the built AppHost) and collects its
/// output.
/// </summary>
internal static class ExternalProcess
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Runs <paramref name="file"/>; kills it (and what it started) if it takes longer than 2 minutes.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, string? workingDirectory, params string[] arguments) =>
        RunAsync(file, workingDirectory, new Dictionary<string, string>(), ToolTimeout, arguments);

    /// <summary>
    /// Runs the AppHost built beside the tests (<c>dotnet SmartHub.AppHost.dll</c>) with <paramref name="environment"/>
    /// added; killed after <paramref name="timeout"/>.
    /// </summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunAppHostAsync(IReadOnlyDictionary<string, string> environment, TimeSpan timeout, params string[] arguments) =>
        RunAsync("dotnet", Path.GetTempPath(), environment, timeout, [Path.Combine(AppContext.BaseDirectory, "SmartHub.AppHost.dll"), .. arguments]);

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string file, string? workingDirectory, IReadOnlyDictionary<string, string> environment, TimeSpan limit, string[] arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var timeout = new CancellationTokenSource(limit);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
