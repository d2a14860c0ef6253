namespace SmartHub.IntegrationTests.Hosting;

internal static class Poll
{
    /// <summary>Retries <paramref name="probe"/> until it returns true, or fails the test with <paramref name="what"/>.</summary>
    public static async Task UntilAsync(Func<Task<bool>> probe, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            try
            {
                if (await probe())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cts.IsCancellationRequested)
            {
            }

            if (cts.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds:0} s waiting until {what}.");
            }

            await Task.Delay(100);
        }
    }

    public static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);

    /// <summary>PIDs of every live process in the given process groups (a service and anything it started).</summary>
    public static IReadOnlyList<int> LiveMembersOfGroups(IEnumerable<int> groups)
    {
        var set = groups.ToHashSet();
        var members = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] != "Z" && set.Contains(int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture)))
                {
                    members.Add(pid);
                }
            }
            catch (IOException)
            {
            }
        }

        return members;
    }
}
