using System.Net;
using Polly;
using Polly.Timeout;
using SmartHub.ServiceDefaults.Http;

namespace SmartHub.UnitTests.ServiceDefaults;

public sealed class HttpRetryPolicyTests
{
    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    [InlineData("OPTIONS")]
    [InlineData("TRACE")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public void Idempotent_methods_may_be_retried(string method)
    {
        Assert.True(HttpRetryPolicy.IsIdempotent(new HttpMethod(method)));
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PATCH")]
    [InlineData("CONNECT")]
    public void Non_idempotent_methods_are_never_retried(string method)
    {
        Assert.False(HttpRetryPolicy.IsIdempotent(new HttpMethod(method)));
        using var request = new HttpRequestMessage(new HttpMethod(method), "http://core/x");
        Assert.False(HttpRetryPolicy.ShouldRetry(request));
    }

    [Fact]
    public void A_request_can_opt_out_of_retries()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://core/health");
        request.Options.Set(HttpRetryPolicy.DisableRetries, true);

        Assert.False(HttpRetryPolicy.ShouldRetry(request));
    }

    [Theory]
    [InlineData(HttpStatusCode.RequestTimeout, true)]
    [InlineData(HttpStatusCode.TooManyRequests, true)]
    [InlineData(HttpStatusCode.InternalServerError, true)]
    [InlineData(HttpStatusCode.BadGateway, true)]
    [InlineData(HttpStatusCode.ServiceUnavailable, true)]
    [InlineData(HttpStatusCode.GatewayTimeout, true)]
    [InlineData(HttpStatusCode.OK, false)]
    [InlineData(HttpStatusCode.BadRequest, false)]
    [InlineData(HttpStatusCode.NotFound, false)]
    [InlineData(HttpStatusCode.Conflict, false)]
    [InlineData(HttpStatusCode.NotImplemented, false)]
    public void Transient_status_codes(HttpStatusCode statusCode, bool transient)
    {
        using var response = new HttpResponseMessage(statusCode);

        Assert.Equal(transient, HttpRetryPolicy.IsTransient(statusCode));
        Assert.Equal(transient, HttpRetryPolicy.IsTransient(Outcome.FromResult(response)));
    }

    [Fact]
    public void Transport_errors_and_attempt_timeouts_are_transient_but_cancellation_is_not()
    {
        Assert.True(HttpRetryPolicy.IsTransient(Outcome.FromException<HttpResponseMessage>(new HttpRequestException("refused"))));
        Assert.True(HttpRetryPolicy.IsTransient(Outcome.FromException<HttpResponseMessage>(new TimeoutRejectedException())));
        Assert.False(HttpRetryPolicy.IsTransient(Outcome.FromException<HttpResponseMessage>(new OperationCanceledException())));
        Assert.False(HttpRetryPolicy.IsTransient(Outcome.FromException<HttpResponseMessage>(new InvalidOperationException())));
    }

    [Fact]
    public void Retry_after_is_honoured_and_capped()
    {
        var now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        using var delta = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        delta.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(2));
        using var date = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        date.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(now.AddMinutes(5));
        using var none = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);

        Assert.Equal(TimeSpan.FromSeconds(2), HttpRetryPolicy.RetryAfter(delta, now, TimeSpan.FromSeconds(5)));
        Assert.Equal(TimeSpan.FromSeconds(5), HttpRetryPolicy.RetryAfter(date, now, TimeSpan.FromSeconds(5)));
        Assert.Null(HttpRetryPolicy.RetryAfter(none, now, TimeSpan.FromSeconds(5)));
    }
}
