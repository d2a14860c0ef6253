using System.Security.Cryptography;
using System.Text.Json;

namespace SmartHub.Hosting.Orchestration;

/// <summary>
/// The AppHost's state folder: PostgreSQL and Redis data, generated parameters (0600), and a ledger of the PIDs it
/// started, so that processes left by an AppHost that was killed outright are stopped at the next start.
/// One AppHost at a time: the folder is locked while in use.
/// </summary>
internal sealed class StateFolder : IDisposable
{
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode TraversableDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    private readonly FileStream _lock;
    private readonly Lock _gate = new();

    private StateFolder(string path, FileStream lockFile)
    {
        Path = path;
        _lock = lockFile;
    }

    public string Path { get; }

    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    public static StateFolder Open(string path)
    {
        try
        {
            Directory.CreateDirectory(path);
            File.SetUnixFileMode(path, TraversableDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DistributedApplicationException($"Cannot create the state folder '{path}': {ex.Message}. Set SMARTHUB_STATE_DIR to a writable folder.", ex);
        }

        var lockPath = System.IO.Path.Combine(path, ".lock");
        FileStream stream;
        try
        {
            stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            var owner = TryRead(lockPath);
            throw new DistributedApplicationException(
                $"Another AppHost{(owner is null ? string.Empty : $" (PID {owner.Trim()})")} is using the state folder '{path}'. Stop it first, or give this one its own folder with SMARTHUB_STATE_DIR.", ex);
        }

        stream.SetLength(0);
        using (var writer = new StreamWriter(stream, leaveOpen: true))
        {
            writer.Write(Environment.ProcessId);
        }

        stream.Flush();
        return new StateFolder(path, stream);
    }

    private static string? TryRead(string path)
    {
        try
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var r = new StreamReader(s);
            return r.ReadToEnd();
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Value of a generated parameter: read from parameters.json, or generated and persisted there.</summary>
    public (string Value, bool Created) GetOrCreateParameter(string name, int length)
    {
        lock (_gate)
        {
            var file = Combine("parameters.json");
            var values = File.Exists(file)
                ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(file)) ?? []
                : [];
            if (values.TryGetValue(name, out var value))
            {
                return (value, false);
            }

            value = RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", length);
            values[name] = value;
            WritePrivate(file, JsonSerializer.Serialize(values, Json));
            return (value, true);
        }
    }

    /// <summary>Writes a file readable only by its owner (secrets, configuration with passwords).</summary>
    public static void WritePrivate(string file, string content)
    {
        var temp = file + ".tmp";
        using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = PrivateFile }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }

        File.SetUnixFileMode(temp, PrivateFile);
        File.Move(temp, file, overwrite: true);
    }

    private sealed record LedgerEntry(string Resource, int Pid, long StartTicks, int StopSignal);

    private string LedgerPath => Combine("processes.json");

    private List<LedgerEntry> ReadLedger() =>
        File.Exists(LedgerPath) ? JsonSerializer.Deserialize<List<LedgerEntry>>(File.ReadAllText(LedgerPath)) ?? [] : [];

    public void RecordProcess(string resource, ManagedProcess process)
    {
        lock (_gate)
        {
            var entries = ReadLedger().Where(e => e.Resource != resource).ToList();
            entries.Add(new LedgerEntry(resource, process.Pid, NativeMethods.GetStartTicks(process.Pid) ?? 0, process.StopSignal));
            WritePrivate(LedgerPath, JsonSerializer.Serialize(entries, Json));
        }
    }

    public void ForgetProcess(string resource)
    {
        lock (_gate)
        {
            var entries = ReadLedger();
            if (entries.RemoveAll(e => e.Resource == resource) > 0)
            {
                WritePrivate(LedgerPath, JsonSerializer.Serialize(entries, Json));
            }
        }
    }

    /// <summary>Stops processes that an earlier AppHost on this folder started and never stopped (it was killed outright).</summary>
    public async Task ReapLeftoversAsync(TimeSpan timeout)
    {
        List<LedgerEntry> entries;
        lock (_gate)
        {
            entries = ReadLedger();
        }

        var alive = entries.Where(e => NativeMethods.IsAlive(e.Pid) && NativeMethods.GetStartTicks(e.Pid) == e.StartTicks).ToList();
        foreach (var entry in alive)
        {
            HostConsole.Warn($"{entry.Resource} (PID {entry.Pid}) was left running by an earlier AppHost that did not shut down: stopping it.");
            NativeMethods.SendSignal(entry.Pid, entry.StopSignal);
        }

        var deadline = DateTime.UtcNow + timeout;
        while (alive.Any(e => NativeMethods.IsAlive(e.Pid)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50).ConfigureAwait(false);
        }

        foreach (var entry in alive.Where(e => NativeMethods.IsAlive(e.Pid)))
        {
            NativeMethods.SignalGroup(entry.Pid, NativeMethods.SIGKILL);
            NativeMethods.SendSignal(entry.Pid, NativeMethods.SIGKILL);
        }

        lock (_gate)
        {
            if (File.Exists(LedgerPath))
            {
                File.Delete(LedgerPath);
            }
        }
    }

    public void Dispose() => _lock.Dispose();
}
