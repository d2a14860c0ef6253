namespace SmartHub.UnitTests.AppHost;

/// <summary>A setting the operator got wrong stops the AppHost at once with the fix and exit code 1, never a stack trace.</summary>
public sealed class InvalidSettingsTests
{
    [Theory]
    [InlineData("SMARTHUB_DASHBOARD_PORT", "abc", "SMARTHUB_DASHBOARD_PORT must be a port number")]
    [InlineData("SmartHub__StartupTimeoutSeconds", "-1", "must be a positive number of seconds")]
    [InlineData("Dashboard__Telemetry__MaxSpans", "1", "MaxSpans")]
    public async Task An_invalid_setting_is_named_without_a_stack_trace(string variable, string value, string message)
    {
        var (exitCode, stdout, stderr) = await ExternalProcess.RunAppHostAsync(new Dictionary<string, string>
        {
            [variable] = value,
            ["SMARTHUB_STATE_DIR"] = Path.Combine(Path.GetTempPath(), "smarthub-invalid-" + Guid.NewGuid().ToString("N")),
        }, TimeSpan.FromSeconds(30));
        var all = stdout + stderr;

        Assert.Equal(1, exitCode);
        Assert.Contains(message, all, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", all, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
    }
}
