namespace SmartHub.IntegrationTests.Dashboard;

/// <summary>The fixture's own rules that need no browser (outside the browser collection: they run when Chromium is missing).</summary>
public sealed class BrowserFixtureTests
{
    [Fact]
    public void Missing_chromium_fails_naming_the_setup_command()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-chromium-" + Guid.NewGuid().ToString("N"));

        var ex = Assert.Throws<InvalidOperationException>(() => BrowserFixture.ResolveChromium(missing));

        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
        Assert.Contains("./smarthub.sh setup", ex.Message, StringComparison.Ordinal);
        Assert.Contains(BrowserFixture.ChromiumVariable, ex.Message, StringComparison.Ordinal);
    }
}
