using System.Diagnostics;

namespace SmartHub.Hosting.Orchestration;

/// <summary>What to start for a resource.</summary>
internal sealed record ProcessSpec(string FileName, IReadOnlyList<string> Arguments, string WorkingDirectory, IReadOnlyDictionary<string, string> Environment)
{
    /// <summary>Run as this user (when the AppHost is root), through setpriv.</summary>
    public string? RunAsUser { get; init; }

    /// <summary>Signal for a graceful stop (PostgreSQL: SIGINT, its "fast" shutdown).</summary>
    public int StopSignal { get; init; } = NativeMethods.SIGTERM;
}

/// <summary>
/// One OS process of the graph. It runs in its own session (setsid), so a Ctrl+C in the terminal reaches only the
/// AppHost, which then stops the graph in order; its output is captured line by line.
/// </summary>
internal sealed class ManagedProcess
{
    /// <summary>Every process started and not yet stopped, killed if the AppHost (or a test host) exits without stopping them.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, ManagedProcess> Live = new();

    static ManagedProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var process in Live.Values)
        {
            process.Kill();
        }
    };

    private readonly Process _process;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ResourceLog _log;

    private ManagedProcess(Process process, ResourceLog log, int stopSignal)
    {
        _process = process;
        _log = log;
        StopSignal = stopSignal;
    }

    public int Pid { get; private set; }
    public int StopSignal { get; }
    private static readonly TimeSpan OutputDrainTimeout = TimeSpan.FromSeconds(1);

    public Task<int> Exited => _exited.Task;
    public bool HasExited => _exited.Task.IsCompleted;

    public static ManagedProcess Start(ProcessSpec spec, ResourceLog log)
    {
        var psi = new ProcessStartInfo("setsid")
        {
            WorkingDirectory = spec.WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (spec.RunAsUser is { } user)
        {
            foreach (var arg in new[] { "setpriv", $"--reuid={user}", $"--regid={user}", "--init-groups", "--" })
            {
                psi.ArgumentList.Add(arg);
            }
        }

        psi.ArgumentList.Add(spec.FileName);
        foreach (var arg in spec.Arguments)
        {
            psi.ArgumentList.Add(arg);
        }

        // The AppHost's own secrets and graph settings are not the children's business.
        foreach (var key in psi.Environment.Keys.Where(IsHostOnly).ToList())
        {
            psi.Environment.Remove(key);
        }

        foreach (var (key, value) in spec.Environment)
        {
            psi.Environment[key] = value;
        }

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var managed = new ManagedProcess(process, log, spec.StopSignal);
        // Null data is the end of the stream. The exit is reported once both streams have ended (or 1 s after the exit,
        // for children that keep the pipes open), so the last lines a crashing process wrote are in the log that
        // explains its failure.
        var outputEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var errorEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.Append(e.Data); } else { outputEnded.TrySetResult(); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.Append(e.Data); } else { errorEnded.TrySetResult(); } };
        process.Exited += async (_, _) =>
        {
            try
            {
                await Task.WhenAll(outputEnded.Task, errorEnded.Task).WaitAsync(OutputDrainTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }

            Live.TryRemove(managed.Pid, out _);
            managed._exited.TrySetResult(SafeExitCode(process));
        };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            process.Dispose();
            throw new DistributedApplicationException($"Could not start '{spec.FileName}': {ex.Message}.", ex);
        }

        managed.Pid = process.Id;
        Live[managed.Pid] = managed;
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return managed;
    }

    private static bool IsHostOnly(string key) =>
        key.StartsWith("Parameters__", StringComparison.OrdinalIgnoreCase)
        // Provider API keys go to McpServer alone, forwarded explicitly (WithConfigurationSection("Providers")).
        || key.StartsWith("Providers__", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("SMARTHUB_", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("ConnectionStrings__", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("services__", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("DOTNET_DASHBOARD", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("ASPIRE_", StringComparison.OrdinalIgnoreCase);

    private static int SafeExitCode(Process process)
    {
        try
        {
            return process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            return -1;
        }
    }

    /// <summary>Graceful stop: the stop signal, then SIGKILL to the whole process group after <paramref name="timeout"/>.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (!HasExited)
        {
            NativeMethods.SendSignal(Pid, StopSignal);
            try
            {
                await Exited.WaitAsync(timeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                HostConsole.Warn($"{_log.Resource} (PID {Pid}) did not stop within {timeout.TotalSeconds:0} s: killing it.");
            }
        }

        Kill();
        await Exited.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _process.Dispose();
    }

    /// <summary>SIGKILL to the process group: the process and anything it started (PostgreSQL's backends).</summary>
    public void Kill()
    {
        NativeMethods.SignalGroup(Pid, NativeMethods.SIGKILL);
        NativeMethods.SendSignal(Pid, NativeMethods.SIGKILL);
    }
}
