using SmartHub.FakeProviders;
using SmartHub.McpServer.Providers;
using static SmartHub.UnitTests.Providers.ProviderTestKit;

namespace SmartHub.UnitTests.Providers;

/// <summary>The fakes' own scripting, which later tests (router, integration) rely on.</summary>
public sealed class FakeProviderServerTests
{
    [Fact]
    public async Task A_dead_deployment_fails_every_call_until_it_recovers_and_reset_clears_everything()
    {
        await using var server = await FakeOpenAiServer.StartAsync(new FakeServerOptions { Name = "backup" }).WaitAsync(TestTimeout);
        using var http = Client();
        var provider = new OpenAiProvider(http, TimeProvider.System);
        var deployment = Deployment("openai", server.BaseUrl, server.ApiKey);

        server.FailAlways(503);
        for (var i = 0; i < 3; i++)
        {
            var error = await Assert.ThrowsAsync<ProviderException>(() => provider.CompleteAsync(Ask(deployment, "Hi"), default).WaitAsync(TestTimeout));
            Assert.Equal(503, error.StatusCode);
        }

        server.Recover();
        Assert.Equal("Fake backup answer: Hi", (await provider.CompleteAsync(Ask(deployment, "Hi"), default).WaitAsync(TestTimeout)).Content);
        Assert.Equal(4, server.CallCount);
        Assert.Equal([503, 503, 503, 200], server.Requests.Select(r => r.Status));

        server.FailAlways(500);
        server.ChunkDelay = TimeSpan.FromSeconds(5);
        server.Reset();
        Assert.Equal(0, server.CallCount);
        Assert.Null(server.LastRequest);
        Assert.Equal(TimeSpan.Zero, server.ChunkDelay);
        var deltas = await CollectAsync(provider.StreamAsync(Ask(deployment, "Hi"), default)).WaitAsync(TestTimeout);
        Assert.Equal("Fake backup answer: Hi", string.Concat(deltas.Select(d => d.Content)));
        Assert.Equal(1, server.LastRequest!.Number);
    }

    [Fact]
    public async Task Fakes_use_the_configured_port_and_prefix()
    {
        var port = ClosedPort();
        await using var server = await FakeAnthropicServer.StartAsync(new FakeServerOptions { Port = port, PathPrefix = "anthropic/v1/" }).WaitAsync(TestTimeout);

        Assert.Equal($"http://127.0.0.1:{port}/anthropic/v1", server.BaseUrl);
        using var http = Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, server.BaseUrl + "/models");
        request.Headers.Add("x-api-key", server.ApiKey);
        request.Headers.Add("anthropic-version", AnthropicProvider.ApiVersion);
        using var response = await http.SendAsync(request).WaitAsync(TestTimeout);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Contains("fake-claude", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
