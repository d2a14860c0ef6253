using System.Diagnostics;

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
        var appHost = Path.Combine(AppContext.BaseDirectory, "SmartHub.AppHost.dll");
        var start = new ProcessStartInfo("dotnet", [appHost])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { [variable] = value, ["SMARTHUB_STATE_DIR"] = Path.Combine(Path.GetTempPath(), "smarthub-invalid-" + Guid.NewGuid().ToString("N")) },
        };
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        var all = await output + await error;

        Assert.Equal(1, process.ExitCode);
        Assert.Contains(message, all, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", all, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
    }
}
