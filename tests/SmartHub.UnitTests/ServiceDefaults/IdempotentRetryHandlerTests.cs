using System.Net;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Http;

namespace SmartHub.UnitTests.ServiceDefaults;

public sealed class IdempotentRetryHandlerTests
{
    private static readonly HttpClientDefaultsOptions s_fastOptions = new()
    {
        MaxRetryAttempts = 3,
        RetryBaseDelay = TimeSpan.Zero,
        AttemptTimeout = TimeSpan.FromMilliseconds(200),
    };

    [Fact]
    public async Task Get_is_retried_until_a_transient_failure_clears()
    {
        var inner = new ScriptedHandler(HttpStatusCode.ServiceUnavailable, HttpStatusCode.BadGateway, HttpStatusCode.OK);
        using var invoker = CreateInvoker(inner);

        using var response = await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://core/x"), CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, inner.Attempts);
    }

    [Fact]
    public async Task Post_is_sent_once_even_when_it_fails_transiently()
    {
        var inner = new ScriptedHandler(HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK);
        using var invoker = CreateInvoker(inner);

        using var response = await invoker.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "http://core/x") { Content = new StringContent("{}") },
            CancellationToken.None);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, inner.Attempts);
    }

    [Fact]
    public async Task Retries_stop_after_the_configured_number()
    {
        var inner = new ScriptedHandler(Enumerable.Repeat(HttpStatusCode.ServiceUnavailable, 10).ToArray());
        using var invoker = CreateInvoker(inner);

        using var response = await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "http://core/x"), CancellationToken.None);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1 + s_fastOptions.MaxRetryAttempts, inner.Attempts);
    }

    [Fact]
    public async Task Non_transient_statuses_are_not_retried()
    {
        var inner = new ScriptedHandler(HttpStatusCode.NotFound, HttpStatusCode.OK);
        using var invoker = CreateInvoker(inner);

        using var response = await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://core/x"), CancellationToken.None);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(1, inner.Attempts);
    }

    [Fact]
    public async Task Put_body_is_sent_again_on_retry()
    {
        var inner = new ScriptedHandler(HttpStatusCode.InternalServerError, HttpStatusCode.OK);
        using var invoker = CreateInvoker(inner);

        using var response = await invoker.SendAsync(
            new HttpRequestMessage(HttpMethod.Put, "http://core/x") { Content = new StringContent("payload") },
            CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["payload", "payload"], inner.Bodies);
    }

    [Fact]
    public async Task A_timed_out_attempt_is_retried()
    {
        var inner = new ScriptedHandler(HttpStatusCode.OK) { HangOnFirstAttempt = true };
        using var invoker = CreateInvoker(inner);

        using var response = await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://core/slow"), CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, inner.Attempts);
    }

    [Fact]
    public async Task Transport_errors_surface_after_the_last_retry()
    {
        var inner = new ScriptedHandler() { Throw = true };
        using var invoker = CreateInvoker(inner);

        await Assert.ThrowsAsync<HttpRequestException>(() =>
            invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://core/x"), CancellationToken.None));
        Assert.Equal(1 + s_fastOptions.MaxRetryAttempts, inner.Attempts);
    }

    private static HttpMessageInvoker CreateInvoker(HttpMessageHandler inner) =>
        new(new IdempotentRetryHandler(Options.Create(s_fastOptions), TimeProvider.System) { InnerHandler = inner });

    private sealed class ScriptedHandler(params HttpStatusCode[] statuses) : HttpMessageHandler
    {
        private int _attempts;

        public int Attempts => _attempts;

        public bool HangOnFirstAttempt { get; init; }

        public bool Throw { get; init; }

        public List<string> Bodies { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var attempt = Interlocked.Increment(ref _attempts);
            if (request.Content is not null)
            {
                Bodies.Add(await request.Content.ReadAsStringAsync(cancellationToken));
            }

            if (Throw)
            {
                throw new HttpRequestException("Connection refused");
            }

            if (HangOnFirstAttempt && attempt == 1)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            var index = HangOnFirstAttempt ? attempt - 2 : attempt - 1;
            return new HttpResponseMessage(statuses[Math.Clamp(index, 0, statuses.Length - 1)]);
        }
    }
}
