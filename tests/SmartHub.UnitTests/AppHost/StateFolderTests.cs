using SmartHub.Hosting;
using SmartHub.Hosting.Orchestration;

namespace SmartHub.UnitTests.AppHost;

public sealed class StateFolderTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "smarthub-unit-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Generated_parameters_are_persisted_privately_and_reused()
    {
        string first;
        using (var state = StateFolder.Open(_path))
        {
            first = state.GetOrCreateParameter("postgres-password", 32);
        }

        using var again = StateFolder.Open(_path);

        Assert.Equal(32, first.Length);
        Assert.True(first.All(char.IsAsciiLetterOrDigit));
        Assert.Equal(first, again.GetOrCreateParameter("postgres-password", 32));
        Assert.NotEqual(first, again.GetOrCreateParameter("cache-password", 32));
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

    public void Dispose() => Directory.Delete(_path, recursive: true);
}
