using System.Xml.Linq;

namespace SmartHub.UnitTests.Publishing;

/// <summary>
/// Each service project builds its image with the .NET SDK (<c>dotnet publish -t:PublishContainer</c>) under the name the
/// Kubernetes manifests pull (<c>smarthub-&lt;resource&gt;</c>), on the shared base image, user and port.
/// </summary>
public sealed class ContainerPropertiesTests
{
    private static readonly string Root = FindRoot();

    [Theory]
    [InlineData("AuthService", "auth")]
    [InlineData("CoreService", "core")]
    [InlineData("McpServer", "mcp")]
    [InlineData("Gateway", "gateway")]
    public void Every_service_names_its_image_after_its_resource_and_shares_the_container_settings(string project, string resource)
    {
        var csproj = XDocument.Load(Path.Combine(Root, project, project + ".csproj"));
        Assert.Equal($"smarthub-{resource}", csproj.Descendants("ContainerRepository").Single().Value);
        Assert.Contains(csproj.Descendants("Import"), i => i.Attribute("Project")?.Value.Replace('\\', '/') == "../eng/Container.props");
    }

    [Fact]
    public void The_shared_settings_run_as_the_non_root_app_user_on_port_8080()
    {
        var props = XDocument.Load(Path.Combine(Root, "eng", "Container.props"));
        Assert.Equal("1654", props.Descendants("ContainerUser").Single().Value);
        Assert.EndsWith("-chiseled", props.Descendants("ContainerBaseImage").Single().Value, StringComparison.Ordinal);
        Assert.Equal("8080", props.Descendants("ContainerPort").Single().Attribute("Include")?.Value);
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

        throw new InvalidOperationException("SmartHub.sln not found above " + AppContext.BaseDirectory);
    }
}
