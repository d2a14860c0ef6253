using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SmartHub.FakeProviders;
using SmartHub.McpServer.Providers;
using static SmartHub.UnitTests.Providers.ProviderTestKit;

namespace SmartHub.UnitTests.Providers;

/// <summary>AddProviders as McpServer uses it: configuration → catalog → the registered provider → the fake, through IHttpClientFactory.</summary>
public sealed class ProviderRegistrationTests
{
    [Fact]
    public async Task Configured_openai_and_anthropic_deployments_are_served_by_the_registered_providers()
    {
        await using var openAi = await FakeOpenAiServer.StartAsync().WaitAsync(TestTimeout);
        await using var anthropic = await FakeAnthropicServer.StartAsync().WaitAsync(TestTimeout);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Providers:openai-main:Type"] = "openai",
            ["Providers:openai-main:BaseUrl"] = openAi.BaseUrl,
            ["Providers:openai-main:ApiKey"] = openAi.ApiKey,
            ["Providers:openai-main:Models:0"] = "gpt-fake",
            ["Providers:claude:Type"] = "anthropic",
            ["Providers:claude:BaseUrl"] = anthropic.BaseUrl,
            ["Providers:claude:ApiKey"] = anthropic.ApiKey,
            ["Providers:claude:Models:0:Id"] = "claude",
            ["Providers:claude:Models:0:Upstream"] = "claude-fake-20250101",
        });
        builder.AddProviders();
        using var host = builder.Build();

        var catalog = host.Services.GetRequiredService<ModelCatalog>();
        var registry = host.Services.GetRequiredService<ProviderRegistry>();
        Assert.Empty(catalog.Errors);
        Assert.True(catalog.TryGet("gpt-fake", out var gpt));
        Assert.True(catalog.TryGet("claude", out var claude));

        var gptProvider = registry.For(gpt[0]);
        var claudeProvider = registry.For(claude[0]);
        Assert.IsType<OpenAiProvider>(gptProvider);
        Assert.IsType<AnthropicProvider>(claudeProvider);

        var fromGpt = await gptProvider.CompleteAsync(Ask(gpt[0], "Hi"), default).WaitAsync(TestTimeout);
        var fromClaude = await CollectAsync(claudeProvider.StreamAsync(Ask(claude[0], "Hi"), default)).WaitAsync(TestTimeout);

        Assert.Equal("Fake openai answer: Hi", fromGpt.Content);
        Assert.Equal("Fake anthropic answer: Hi", string.Concat(fromClaude.Select(d => d.Content)));
        Assert.Equal("claude-fake-20250101", anthropic.LastRequest!.Body.GetProperty("model").GetString());
    }
}
