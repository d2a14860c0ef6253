using Microsoft.Extensions.Configuration;
using SmartHub.ServiceDefaults.ServiceDiscovery;

namespace SmartHub.UnitTests.ServiceDefaults;

public sealed class ServiceEndpointResolverTests
{
    private static ServiceEndpointResolver Resolver(params (string Key, string Value)[] settings) =>
        new(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build());

    [Fact]
    public void Service_name_is_replaced_by_its_configured_address_keeping_path_and_query()
    {
        var resolver = Resolver(("services:core:http:0", "http://127.0.0.1:5111"));

        var resolved = resolver.Resolve(new Uri("http://core/api/credits/a%20b?user=1&x=%2F"));

        Assert.Equal("http://127.0.0.1:5111/api/credits/a%20b?user=1&x=%2F", resolved.OriginalString);
    }

    [Fact]
    public void Unknown_service_fails_with_the_variable_to_set()
    {
        var resolver = Resolver();

        var error = Assert.Throws<InvalidOperationException>(() => resolver.Resolve(new Uri("http://core/api/status")));

        Assert.Contains("No address for service 'core': set services__core__http__0", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://api.openai.com/v1/models")]
    [InlineData("http://localhost:8080/x")]
    [InlineData("http://127.0.0.1:5000/x")]
    [InlineData("http://[::1]:5000/x")]
    public void Real_hosts_pass_through(string uri)
    {
        var resolver = Resolver();

        Assert.Equal(new Uri(uri), resolver.Resolve(new Uri(uri)));
    }

    [Fact]
    public void Https_plus_http_prefers_https_and_falls_back_to_http()
    {
        var both = Resolver(("services:auth:http:0", "http://10.0.0.1:80"), ("services:auth:https:0", "https://10.0.0.1:443"));
        var httpOnly = Resolver(("services:auth:http:0", "http://10.0.0.1:80"));

        Assert.Equal("https://10.0.0.1/jwks", both.Resolve(new Uri("https+http://auth/jwks")).ToString());
        Assert.Equal("http://10.0.0.1/jwks", httpOnly.Resolve(new Uri("https+http://auth/jwks")).ToString());
    }

    [Fact]
    public void All_endpoints_are_listed_in_index_order_and_invalid_ones_skipped()
    {
        var resolver = Resolver(
            ("services:core:http:1", "http://10.0.0.2:5000"),
            ("services:core:http:0", "http://10.0.0.1:5000"),
            ("services:core:http:2", "not a uri"));

        var endpoints = resolver.GetEndpoints("core");

        Assert.Equal([new Uri("http://10.0.0.1:5000"), new Uri("http://10.0.0.2:5000")], endpoints);
    }

    [Fact]
    public async Task The_handler_rewrites_the_request_before_sending()
    {
        var resolver = Resolver(("services:mcp:http:0", "http://127.0.0.1:6000"));
        var inner = new CapturingHandler();
        using var invoker = new HttpMessageInvoker(new ServiceDiscoveryHandler(resolver) { InnerHandler = inner });

        using var response = await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://mcp/v1/models"), CancellationToken.None);

        Assert.Equal(new Uri("http://127.0.0.1:6000/v1/models"), inner.LastUri);
    }

    private sealed class CapturingHandler : HttpMessageHandler
    {
        public Uri? LastUri { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            LastUri = request.RequestUri;
            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK));
        }
    }
}
