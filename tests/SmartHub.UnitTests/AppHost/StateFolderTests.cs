using SmartHub.Hosting;
using SmartHub.Hosting.Orchestration;

namespace SmartHub.UnitTests.AppHost;

public sealed class StateFolderTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "smarthub-unit-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Generated_parameters_are_persisted_privately_and_reused()
    {
        (string Value, bool Created) first;
        using (var state = StateFolder.Open(_path))
        {
            first = state.GetOrCreateParameter("postgres-password", 32);
        }

        using var again = StateFolder.Open(_path);

        Assert.True(first.Created);
        Assert.Equal(32, first.Value.Length);
        Assert.True(first.Value.All(char.IsAsciiLetterOrDigit));
        Assert.Equal((first.Value, false), again.GetOrCreateParameter("postgres-password", 32));
        Assert.NotEqual(first.Value, again.GetOrCreateParameter("cache-password", 32).Value);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_path, "parameters.json")));
    }

    [Fact]
    public void A_second_apphost_on_the_same_folder_is_refused()
    {
        using var state = StateFolder.Open(_path);

        var error = Assert.Throws<DistributedApplicationException>(() => StateFolder.Open(_path));

        Assert.Contains("Another AppHost", error.Message, StringComparison.Ordinal);
        Assert.Contains("SMARTHUB_STATE_DIR", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Processes_left_by_an_apphost_that_was_killed_are_stopped_at_the_next_start()
    {
        ManagedProcess orphan;
        using (var state = StateFolder.Open(_path))
        {
            // An AppHost killed outright: its child keeps running and stays in the ledger.
            orphan = ManagedProcess.Start(new ProcessSpec("sleep", ["300"], _path, new Dictionary<string, string>()), new ResourceLog("orphan"));
            state.RecordProcess("orphan", orphan);
        }

        Assert.True(NativeMethods.IsAlive(orphan.Pid));
        using var next = StateFolder.Open(_path);

        await next.ReapLeftoversAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(143, await orphan.Exited.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.False(File.Exists(Path.Combine(_path, "processes.json")));
    }

    [Fact]
    public async Task A_process_that_merely_reuses_a_recorded_pid_is_not_touched()
    {
        var bystander = ManagedProcess.Start(new ProcessSpec("sleep", ["300"], Path.GetTempPath(), new Dictionary<string, string>()), new ResourceLog("bystander"));
        try
        {
            using (var state = StateFolder.Open(_path))
            {
                state.RecordProcess("old", bystander);
            }

            // The ledger's start time no longer matches: the PID now belongs to some other process.
            var ledger = Path.Combine(_path, "processes.json");
            File.WriteAllText(ledger, System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(ledger), "\"StartTicks\": \\d+", "\"StartTicks\": 1"));
            using var next = StateFolder.Open(_path);

            await next.ReapLeftoversAsync(TimeSpan.FromSeconds(1));

            Assert.False(bystander.HasExited);
        }
        finally
        {
            await bystander.StopAsync(TimeSpan.FromSeconds(5));
        }
    }

    public void Dispose() => Directory.Delete(_path, recursive: true);
}
