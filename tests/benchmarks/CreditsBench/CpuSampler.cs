using System.Globalization;

namespace SmartHub.Benchmarks.CreditsBench;

/// <summary>
/// CPU used between two snapshots, per resource, from /proc/&lt;pid&gt;/stat (utime + stime, in USER_HZ = 100 ticks a
/// second on Linux): the services by PID, PostgreSQL as the postmaster plus all its children (the backends), the driver
/// itself, and the whole machine from /proc/stat: "steal" is time the hypervisor gave this VM's CPUs to someone else, and
/// "other" the machine's remaining busy time that none of them used (the kernel's softirq and I/O threads, the gateway's
/// and AuthService's idle work, and whatever else runs on this shared machine).
/// </summary>
internal sealed class CpuSampler(IReadOnlyDictionary<string, int> pids)
{
    private const double TicksPerSecond = 100;

    public sealed record Snapshot(DateTime At, Dictionary<(string Group, int Pid), long> Ticks, long MachineBusy, long MachineSteal, long MachineTotal);

    /// <summary>Percent of one core per group over the interval (200 = both cores of this machine), plus "steal", "other" and "idle".</summary>
    public sealed record Usage(IReadOnlyDictionary<string, double> PercentOfCore, double Seconds);

    public Snapshot Take()
    {
        var ticks = new Dictionary<(string, int), long>();
        foreach (var (group, pid) in pids)
        {
            if (group == "postgres")
            {
                continue;
            }

            if (ReadTicks(pid) is { } t)
            {
                ticks[(group, pid)] = t.Ticks;
            }
        }

        if (ReadTicks(Environment.ProcessId) is { } self)
        {
            ticks[("driver", Environment.ProcessId)] = self.Ticks;
        }

        if (pids.TryGetValue("postgres", out var postmaster))
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                    && ReadTicks(pid) is { } t && (pid == postmaster || t.Parent == postmaster))
                {
                    ticks[("postgres", pid)] = t.Ticks;
                }
            }
        }

        var (busy, steal, total) = ReadMachine();
        return new Snapshot(DateTime.UtcNow, ticks, busy, steal, total);
    }

    public static Usage Between(Snapshot start, Snapshot end)
    {
        var seconds = (end.At - start.At).TotalSeconds;
        var groups = new Dictionary<string, double>();
        foreach (var ((group, pid), ticks) in end.Ticks)
        {
            // A process missing at the start was born within the interval: all its time counts.
            var used = ticks - start.Ticks.GetValueOrDefault((group, pid));
            groups[group] = groups.GetValueOrDefault(group) + used;
        }

        var machineTotal = Math.Max(1, end.MachineTotal - start.MachineTotal);
        var cores = machineTotal / TicksPerSecond / seconds;
        var machineBusy = (end.MachineBusy - start.MachineBusy) / TicksPerSecond / seconds * 100;
        var percent = groups.ToDictionary(g => g.Key, g => g.Value / TicksPerSecond / seconds * 100);
        percent["steal"] = (end.MachineSteal - start.MachineSteal) / TicksPerSecond / seconds * 100;
        percent["other"] = Math.Max(0, machineBusy - percent.Values.Sum());
        percent["idle"] = Math.Max(0, cores * 100 - machineBusy);
        return new Usage(percent, seconds);
    }

    private static (long Ticks, int Parent)? ReadTicks(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (comm) state ppid ... utime stime ...": comm may hold spaces and parentheses, so count after the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture),
            int.Parse(fields[1], CultureInfo.InvariantCulture));
    }

    private static (long Busy, long Steal, long Total) ReadMachine()
    {
        // "cpu  user nice system idle iowait irq softirq steal guest guest_nice" (guest time is inside user already).
        var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var v = cpu.Skip(1).Take(8).Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        var total = v.Sum();
        return (total - v[3] - v[4], v[7], total);
    }
}
