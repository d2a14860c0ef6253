using SmartHub.ServiceDefaults.Health;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.UnitTests.ServiceDefaults;

public sealed class TelemetryTests
{
    [Theory]
    [InlineData("SmartHub.CoreService", "SmartHub.Core")]
    [InlineData("SmartHub.AuthService", "SmartHub.Auth")]
    [InlineData("SmartHub.McpServer", "SmartHub.Mcp")]
    [InlineData("SmartHub.Gateway", "SmartHub.Gateway")]
    [InlineData("testhost", "SmartHub.testhost")]
    public void Service_activity_source_is_named_after_the_service(string applicationName, string expected)
    {
        Assert.Equal(expected, ServiceTelemetry.NameFor(applicationName));
    }

    [Theory]
    [InlineData("/health", true)]
    [InlineData("/alive", true)]
    [InlineData("/metrics", true)]
    [InlineData("/HEALTH/", true)]
    [InlineData("/api/health", false)]
    [InlineData("/healthz", false)]
    [InlineData("/", false)]
    [InlineData(null, false)]
    public void Probe_paths_are_recognised(string? path, bool probe)
    {
        Assert.Equal(probe, HealthProbePaths.IsProbe(path));
    }

    [Fact]
    public void Configured_service_name_and_instance_id_are_not_overridden()
    {
        var attributes = TelemetryResource.FallbackAttributes(
            otelServiceName: "core",
            otelResourceAttributes: "service.instance.id=core-1,deployment.environment.name=ci",
            applicationName: "SmartHub.CoreService",
            environmentName: "Production");

        Assert.Empty(attributes);
    }

    [Fact]
    public void Without_configuration_the_application_name_is_the_service_name()
    {
        var attributes = TelemetryResource.FallbackAttributes(null, null, "SmartHub.CoreService", "Development");

        Assert.Equal("SmartHub.CoreService", attributes["service.name"]);
        Assert.Equal("development", attributes["deployment.environment.name"]);
        Assert.True(attributes.ContainsKey("service.instance.id"));
    }

    [Fact]
    public void Resource_attributes_are_parsed_like_the_sdk()
    {
        var parsed = TelemetryResource.ParseResourceAttributes(" service.name = core , bad, k=v%2Cw ,=x");

        Assert.Equal("core", parsed["service.name"]);
        Assert.Equal("v,w", parsed["k"]);
        Assert.Equal(2, parsed.Count);
    }
}
