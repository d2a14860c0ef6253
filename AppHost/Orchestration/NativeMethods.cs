using System.Runtime.InteropServices;

namespace SmartHub.Hosting.Orchestration;

internal static partial class NativeMethods
{
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();

    public static bool IsRoot => GetEffectiveUserId() == 0;

    /// <summary>Sends a signal; false when the process (or group) no longer exists.</summary>
    public static bool SendSignal(int pid, int signal) => Kill(pid, signal) == 0;

    /// <summary>Signals the whole process group led by <paramref name="pid"/> (children run in their own session).</summary>
    public static bool SignalGroup(int pid, int signal) => Kill(-pid, signal) == 0;

    public static bool IsAlive(int pid) => Kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() == 1 /* EPERM: exists, not ours */;

    /// <summary>Start time of a process in clock ticks since boot (/proc/PID/stat field 22), to tell a PID from a reused one.</summary>
    public static long? GetStartTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
