using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SmartHub.ServiceDefaults.Health;

namespace SmartHub.UnitTests.ServiceDefaults;

public sealed class HealthResponseWriterTests
{
    [Fact]
    public void Report_is_written_without_exception_details()
    {
        var report = new HealthReport(
            new Dictionary<string, HealthReportEntry>
            {
                ["coredb"] = new(HealthStatus.Unhealthy, "127.0.0.1:5432/coredb: Connection refused", TimeSpan.FromMilliseconds(12.34),
                    new InvalidOperationException("Password=hunter2"), null),
                ["self"] = new(HealthStatus.Healthy, null, TimeSpan.Zero, null, null),
            },
            TimeSpan.FromMilliseconds(15.06));

        var json = System.Text.Encoding.UTF8.GetString(HealthResponseWriter.Serialize(report));
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;

        Assert.DoesNotContain("hunter2", json, StringComparison.Ordinal);
        Assert.Equal("Unhealthy", root.GetProperty("status").GetString());
        Assert.Equal(15.1, root.GetProperty("totalDurationMs").GetDouble());
        var coredb = root.GetProperty("checks")[0];
        Assert.Equal("coredb", coredb.GetProperty("name").GetString());
        Assert.Equal("127.0.0.1:5432/coredb: Connection refused", coredb.GetProperty("description").GetString());
        Assert.Equal(12.3, coredb.GetProperty("durationMs").GetDouble());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("checks")[1].GetProperty("description").ValueKind);
    }
}
