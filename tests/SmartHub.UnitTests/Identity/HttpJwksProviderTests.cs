using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.UnitTests.Identity;

public sealed class HttpJwksProviderTests : IDisposable
{
    private readonly IdentityClock _clock = new(DateTimeOffset.UnixEpoch);
    private readonly TestSigningKey _first = new();
    private readonly TestSigningKey _second = new();
    private readonly FakeAuthService _auth = new();
    private readonly HttpJwksProvider _provider;

    public HttpJwksProviderTests()
    {
        _auth.Publish(_first);
        _provider = new HttpJwksProvider(_auth, Microsoft.Extensions.Options.Options.Create(new SmartHubAuthenticationOptions()), _clock,
            NullLogger<HttpJwksProvider>.Instance);
    }

    public void Dispose()
    {
        _first.Dispose();
        _second.Dispose();
    }

    /// <summary>AuthService's JWKS endpoint, counting requests; doubles as the IHttpClientFactory.</summary>
    private sealed class FakeAuthService : HttpMessageHandler, IHttpClientFactory
    {
        private string _document = """{"keys":[]}""";

        public int Requests { get; private set; }

        public bool Down { get; set; }

        public Uri? LastUri { get; private set; }

        public void Publish(params TestSigningKey[] keys) =>
            _document = JsonSerializer.Serialize(new JsonWebKeySetDocument([.. keys.Select(k => k.Jwk)]), AuthJsonContext.Default.JsonWebKeySetDocument);

        public HttpClient CreateClient(string name) => new(this, disposeHandler: false);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests++;
            LastUri = request.RequestUri;
            await Task.Yield();
            return Down
                ? throw new HttpRequestException("connection refused")
                : new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(_document, System.Text.Encoding.UTF8, "application/json") };
        }
    }

    [Fact]
    public async Task Keys_come_from_the_auth_service_and_are_cached_for_ten_minutes()
    {
        Assert.Equal(_first.Kid, (await _provider.GetSigningKeyAsync(_first.Kid, default))!.KeyId);
        Assert.Equal(new Uri("http://auth/auth/.well-known/jwks.json"), _auth.LastUri);

        _clock.Advance(TimeSpan.FromMinutes(9));
        await _provider.GetSigningKeyAsync(_first.Kid, default);
        Assert.Equal(1, _auth.Requests);

        _clock.Advance(TimeSpan.FromMinutes(2));
        await _provider.GetSigningKeyAsync(_first.Kid, default);
        Assert.Equal(2, _auth.Requests);
    }

    [Fact]
    public async Task An_unknown_kid_refetches_at_most_once_per_ten_seconds()
    {
        await _provider.GetSigningKeyAsync(_first.Kid, default);
        _clock.Advance(TimeSpan.FromSeconds(11));

        for (var i = 0; i < 50; i++)
        {
            Assert.Null(await _provider.GetSigningKeyAsync("forged-kid-" + i, default));
        }

        Assert.Equal(2, _auth.Requests);

        // A key rotated in: found with the next refetch.
        _auth.Publish(_first, _second);
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(_second.Kid, (await _provider.GetSigningKeyAsync(_second.Kid, default))!.KeyId);
        Assert.Equal(3, _auth.Requests);
    }

    [Fact]
    public async Task Concurrent_lookups_share_one_fetch()
    {
        var lookups = Enumerable.Range(0, 20).Select(_ => _provider.GetSigningKeyAsync(_first.Kid, default).AsTask()).ToList();

        await Task.WhenAll(lookups);

        Assert.Equal(1, _auth.Requests);
    }

    [Fact]
    public async Task Known_keys_keep_working_while_the_auth_service_is_down()
    {
        await _provider.GetSigningKeyAsync(_first.Kid, default);
        _auth.Down = true;
        _clock.Advance(TimeSpan.FromMinutes(11));

        Assert.NotNull(await _provider.GetSigningKeyAsync(_first.Kid, default));
    }

    [Fact]
    public async Task Without_any_keys_an_unreachable_auth_service_is_unavailable()
    {
        _auth.Down = true;

        await Assert.ThrowsAsync<JwksUnavailableException>(() => _provider.GetSigningKeyAsync(_first.Kid, default).AsTask());
        // and the next callers do not hammer it: they fail fast until the retry delay passes
        await Assert.ThrowsAsync<JwksUnavailableException>(() => _provider.GetSigningKeyAsync(_first.Kid, default).AsTask());
        Assert.Equal(1, _auth.Requests);
    }
}
