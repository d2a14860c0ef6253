using System.Text.Json;
using System.Text.RegularExpressions;

namespace SmartHub.UnitTests.Deploy;

/// <summary>
/// deploy/prometheus and deploy/grafana: the alert rules checked and unit-tested with promtool (package prometheus,
/// installed by <c>./smarthub.sh setup</c>; these tests fail, not skip, without it), the scrape configuration checked,
/// and the Grafana dashboard read as Grafana would import it.
/// </summary>
public sealed class PrometheusRulesTests
{

    private static string Root { get; } = FindRoot();

    private static string PrometheusDir => Path.Combine(Root, "deploy", "prometheus");

    [Fact]
    public async Task Alert_rules_pass_promtool_check()
    {
        var (exitCode, output) = await PromtoolAsync(PrometheusDir, "check", "rules", "smarthub-alerts.yml");

        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public async Task Alert_rules_pass_their_promtool_unit_tests()
    {
        // CriticalEndpointSLAViolation, ServiceDown, HighErrorRate and HighCPUUsage firing and staying quiet on
        // synthetic series, and the SLA tier of route patterns (smarthub-alerts.test.yml).
        var (exitCode, output) = await PromtoolAsync(PrometheusDir, "test", "rules", "smarthub-alerts.test.yml");

        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public async Task Example_scrape_configuration_passes_promtool_check()
    {
        // The example names the gateway's API key file where a deployment mounts it; promtool wants it to exist.
        var dir = Directory.CreateTempSubdirectory("smarthub-prometheus-");
        try
        {
            var keyFile = Path.Combine(dir.FullName, "smarthub-metrics-key");
            await File.WriteAllTextAsync(keyFile, "shk_example");
            var config = (await File.ReadAllTextAsync(Path.Combine(PrometheusDir, "prometheus.yml")))
                .Replace("/etc/prometheus/secrets/smarthub-metrics-key", keyFile, StringComparison.Ordinal);
            Assert.Contains(keyFile, config, StringComparison.Ordinal);
            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "prometheus.yml"), config);
            File.Copy(Path.Combine(PrometheusDir, "smarthub-alerts.yml"), Path.Combine(dir.FullName, "smarthub-alerts.yml"));

            var (exitCode, output) = await PromtoolAsync(dir.FullName, "check", "config", "prometheus.yml");

            Assert.True(exitCode == 0, output);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Every_alert_the_guide_asks_for_is_there_with_for_severity_summary_and_description()
    {
        var rules = File.ReadAllText(Path.Combine(PrometheusDir, "smarthub-alerts.yml"));
        var alerts = Regex.Split(rules, @"^\s+- alert: ", RegexOptions.Multiline).Skip(1)
            .ToDictionary(block => block[..block.IndexOf('\n', StringComparison.Ordinal)].Trim(), block => block);

        string[] required =
        [
            "CriticalEndpointSLAViolation", "HighPriorityEndpointSLAViolation", "FrequentSlowRequests", "ResponseTimeDegradation",
            "ServiceDown", "HighErrorRate", "HighResponseTime", "HighMemoryUsage", "HighCPUUsage",
        ];
        Assert.All(required, name => Assert.Contains(name, alerts.Keys));
        Assert.Contains("offset 1d", alerts["ResponseTimeDegradation"], StringComparison.Ordinal);
        foreach (var (name, block) in alerts)
        {
            Assert.True(Regex.IsMatch(block, @"^\s+severity: (critical|warning|info)$", RegexOptions.Multiline), $"{name}: severity");
            Assert.True(block.Contains("summary:", StringComparison.Ordinal) && block.Contains("description:", StringComparison.Ordinal), $"{name}: annotations");
            Assert.True(name == "MetricsSeriesDropped" || Regex.IsMatch(block, @"^\s+for: \d+m$", RegexOptions.Multiline), $"{name}: for");
        }
    }

    [Fact]
    public void Grafana_dashboard_imports_with_a_datasource_variable_and_queries_the_exported_metrics()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "deploy", "grafana", "smarthub-response-times.json")));
        var dashboard = json.RootElement;
        var recorded = Regex.Matches(File.ReadAllText(Path.Combine(PrometheusDir, "smarthub-alerts.yml")), @"record: (\S+)")
            .Select(match => match.Groups[1].Value).ToList();

        Assert.True(dashboard.GetProperty("schemaVersion").GetInt32() >= 36);
        Assert.False(string.IsNullOrEmpty(dashboard.GetProperty("uid").GetString()));
        var variables = dashboard.GetProperty("templating").GetProperty("list").EnumerateArray().ToList();
        var datasource = Assert.Single(variables, v => v.GetProperty("name").GetString() == "datasource");
        Assert.Equal("datasource", datasource.GetProperty("type").GetString());
        Assert.Equal("prometheus", datasource.GetProperty("query").GetString());

        var panels = dashboard.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("type").GetString() != "row").ToList();
        Assert.NotEmpty(panels);
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        var expressions = new List<string>();
        foreach (var panel in panels)
        {
            Assert.Equal("${datasource}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                Assert.Equal("${datasource}", target.GetProperty("datasource").GetProperty("uid").GetString());
                var expr = target.GetProperty("expr").GetString()!;
                Assert.True(
                    expr.Contains("http_server_request_duration_seconds_", StringComparison.Ordinal)
                    || recorded.Any(name => expr.Contains(name, StringComparison.Ordinal))
                    || expr.StartsWith("up{", StringComparison.Ordinal) || expr.StartsWith("vector(", StringComparison.Ordinal),
                    $"{panel.GetProperty("title")}: {expr}");
                expressions.Add(expr);
            }
        }

        // P50/P95/P99 per route, request rate, error rate and the SLA thresholds.
        Assert.All(["histogram_quantile(0.5,", "histogram_quantile(0.95,", "histogram_quantile(0.99,", "http_response_status_code=~\"5..\"", "vector(0.5)"],
            needle => Assert.Contains(expressions, expr => expr.Contains(needle, StringComparison.Ordinal)));
    }

    /// <summary>Runs promtool in <paramref name="workingDirectory"/>; fails the test, naming the package, when it is missing.</summary>
    private static async Task<(int ExitCode, string Output)> PromtoolAsync(string workingDirectory, params string[] arguments)
    {
        var promtool = FindPromtool()
            ?? throw new Xunit.Sdk.XunitException(
                "promtool is not installed: it checks deploy/prometheus's rules. Install the Debian package 'prometheus' "
                + "(./smarthub.sh setup does: apt-get install -y --no-install-recommends prometheus).");
        var (exitCode, stdout, stderr) = await ExternalProcess.RunAsync(promtool, workingDirectory, arguments);
        return (exitCode, $"promtool {string.Join(' ', arguments)} exited with {exitCode}:\n{stdout}{stderr}");
    }

    private static string? FindPromtool()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin").Append("/usr/local/bin")
            .Select(dir => Path.Combine(dir, "promtool"))
            .FirstOrDefault(File.Exists);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SmartHub.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"SmartHub.sln not found above {AppContext.BaseDirectory}");
    }
}
