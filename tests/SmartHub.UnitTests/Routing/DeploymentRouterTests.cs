using Microsoft.Extensions.Logging;
using Polly.CircuitBreaker;
using SmartHub.McpServer.Providers;
using SmartHub.McpServer.Routing;

namespace SmartHub.UnitTests.Routing;

public sealed class DeploymentRouterTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly ChatDeployment _a = RouterFixture.Deployment("a");
    private readonly ChatDeployment _b = RouterFixture.Deployment("b");
    private readonly RouterFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Transient_failures_are_retried_on_the_same_deployment_until_it_answers()
    {
        _fixture.Provider.Script(_a, Step.Fail(503), Step.Fail(null), Step.Ok);

        var routed = await _fixture.CompleteAsync(_a, _b).WaitAsync(Bound);

        Assert.Same(_a, routed.Deployment);
        Assert.Equal("answer from a/m-up", routed.Completion.Content);
        Assert.False(routed.FellBack);
        Assert.Equal(0, _fixture.Provider.CallsTo(_b));
        Assert.Collection(
            routed.Attempts,
            a => Assert.Equal(("a/m-up", 1, AttemptOutcome.UpstreamError, (int?)503), (a.Deployment, a.Attempt, a.Outcome, a.StatusCode)),
            a => Assert.Equal(("a/m-up", 2, AttemptOutcome.UpstreamError, (int?)null), (a.Deployment, a.Attempt, a.Outcome, a.StatusCode)),
            a => Assert.Equal(("a/m-up", 3, AttemptOutcome.Succeeded), (a.Deployment, a.Attempt, a.Outcome)));
    }

    [Fact]
    public async Task Retries_back_off_exponentially_with_jitter()
    {
        _fixture.Provider.Script(_a, Step.Fail(503), Step.Fail(503), Step.Ok);

        await _fixture.CompleteAsync(_a).WaitAsync(Bound);

        // Every other timer is an hour long (the budget, the attempts' timeouts); the short ones are the two backoffs.
        var backoffs = _fixture.Clock.TimerDueTimes.Where(t => t < TimeSpan.FromMinutes(1)).ToList();
        Assert.Equal(2, backoffs.Count);
        Assert.All(backoffs, b => Assert.InRange(b, TimeSpan.FromMilliseconds(1), _fixture.Options.MaxRetryDelay));
    }

    [Fact]
    public async Task Zero_delays_retry_at_once()
    {
        using var fixture = new RouterFixture(new RouterOptions { RetryBaseDelay = TimeSpan.Zero, MaxRetryDelay = TimeSpan.Zero, TotalTimeout = TimeSpan.FromHours(1) });
        fixture.Provider.Script(_a, Step.Fail(503), Step.Ok);

        var routed = await fixture.CompleteAsync(_a).WaitAsync(Bound);

        Assert.Equal(2, routed.Attempts.Count);
    }

    [Fact]
    public async Task A_short_retry_after_is_waited_for_before_the_retry()
    {
        _fixture.Provider.Script(_a, Step.Fail(429, retryAfter: TimeSpan.FromSeconds(3)), Step.Ok);

        var routed = await _fixture.CompleteAsync(_a, _b).WaitAsync(Bound);

        Assert.Same(_a, routed.Deployment);
        Assert.Equal([AttemptOutcome.RateLimited, AttemptOutcome.Succeeded], routed.Attempts.Select(a => a.Outcome));
        Assert.Equal(TimeSpan.FromSeconds(3), routed.Attempts[0].RetryAfter);
        Assert.Contains(TimeSpan.FromSeconds(3), _fixture.Clock.TimerDueTimes);
    }

    [Fact]
    public async Task A_retry_after_above_the_maximum_delay_falls_back_at_once()
    {
        _fixture.Provider.Script(_a, Step.Fail(429, retryAfter: TimeSpan.FromSeconds(60)), Step.Ok);

        var routed = await _fixture.CompleteAsync(_a, _b).WaitAsync(Bound);

        Assert.Same(_b, routed.Deployment);
        Assert.True(routed.FellBack);
        Assert.Equal(1, _fixture.Provider.CallsTo(_a));
        Assert.DoesNotContain(TimeSpan.FromSeconds(60), _fixture.Clock.TimerDueTimes);
        Assert.Equal(
            [("a/m-up", AttemptOutcome.RateLimited), ("b/m-up", AttemptOutcome.Succeeded)],
            routed.Attempts.Select(a => (a.Deployment, a.Outcome)));
    }

    [Fact]
    public async Task Exhausted_retries_fall_back_to_the_next_deployment_and_every_attempt_is_listed()
    {
        _fixture.Provider.Script(_a, Step.Fail(500));

        var routed = await _fixture.CompleteAsync(_a, _b).WaitAsync(Bound);

        Assert.Same(_b, routed.Deployment);
        Assert.Equal(1 + _fixture.Options.MaxRetries, _fixture.Provider.CallsTo(_a));
        Assert.Equal(
            [
                ("a/m-up", 1, AttemptOutcome.UpstreamError),
                ("a/m-up", 2, AttemptOutcome.UpstreamError),
                ("a/m-up", 3, AttemptOutcome.UpstreamError),
                ("b/m-up", 1, AttemptOutcome.Succeeded),
            ],
            routed.Attempts.Select(a => (a.Deployment, a.Attempt, a.Outcome)));
        var fallback = Assert.Single(_fixture.Logger.Entries, e => e.Message.Contains("falling back", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Information, fallback.Level);
        Assert.Contains("from a/m-up to b/m-up", fallback.Message, StringComparison.Ordinal);
        Assert.Contains("upstream_error 500", fallback.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(409, false)] // a provider may say a status is not worth retrying
    [InlineData(null, false)] // a malformed answer
    public async Task A_deployment_fault_falls_back_without_a_retry(int? status, bool? transient = null)
    {
        _fixture.Provider.Script(_a, Step.Fail(status, transient: transient));

        var routed = await _fixture.CompleteAsync(_a, _b).WaitAsync(Bound);

        Assert.Same(_b, routed.Deployment);
        Assert.Equal(1, _fixture.Provider.CallsTo(_a));
        Assert.Equal(AttemptOutcome.DeploymentError, routed.Attempts[0].Outcome);
        Assert.Equal(status, routed.Attempts[0].StatusCode);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(413)]
    [InlineData(422)]
    public async Task A_request_fault_is_returned_as_it_is_without_retry_or_fallback(int status)
    {
        _fixture.Provider.Script(_a, Step.Fail(status));

        var ex = await Assert.ThrowsAsync<RoutingException>(() => _fixture.CompleteAsync(_a, _b).WaitAsync(Bound));

        Assert.Equal(status, ex.StatusCode);
        Assert.Equal(RoutingFailure.RequestRejected, ex.Reason);
        Assert.Equal($"a failed ({status})", ex.Message);
        Assert.IsType<ProviderException>(ex.InnerException);
        Assert.Equal(1, _fixture.Provider.CallsTo(_a));
        Assert.Equal(0, _fixture.Provider.CallsTo(_b));
        Assert.Equal(AttemptOutcome.RequestRejected, Assert.Single(ex.Attempts).Outcome);
    }

    [Fact]
    public async Task The_circuit_opens_after_repeated_failures_and_the_deployment_is_then_skipped()
    {
        using var fixture = new RouterFixture(new RouterOptions
        {
            MaxRetries = 0,
            TotalTimeout = TimeSpan.FromHours(1),
            SamplingDuration = TimeSpan.FromHours(1),
            BreakDuration = TimeSpan.FromHours(1),
        });
        fixture.Provider.Script(_a, Step.Fail(500));

        for (var i = 0; i < fixture.Options.MinimumThroughput; i++)
        {
            Assert.Same(_b, (await fixture.CompleteAsync(_a, _b).WaitAsync(Bound)).Deployment);
        }

        var routed = await fixture.CompleteAsync(_a, _b).WaitAsync(Bound);

        Assert.Equal(CircuitState.Open, fixture.Router.CircuitStateOf(_a.Name));
        Assert.Equal(fixture.Options.MinimumThroughput, fixture.Provider.CallsTo(_a));
        Assert.Same(_b, routed.Deployment);
        Assert.Equal([AttemptOutcome.CircuitOpen, AttemptOutcome.Succeeded], routed.Attempts.Select(a => a.Outcome));
        Assert.NotNull(routed.Attempts[0].RetryAfter);
        Assert.Contains(fixture.Logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("Circuit for a/m-up opened", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_open_circuit_is_skipped_before_it_costs_a_requests_per_minute_slot()
    {
        using var fixture = new RouterFixture(new RouterOptions
        {
            MaxRetries = 0,
            TotalTimeout = TimeSpan.FromHours(1),
            MinimumThroughput = 2,
            SamplingDuration = TimeSpan.FromHours(1),
            BreakDuration = TimeSpan.FromHours(1),
        });
        var limited = RouterFixture.Deployment("a", rpm: 100);
        fixture.Provider.Script(limited, Step.Fail(502));
        await fixture.CompleteAsync(limited, _b).WaitAsync(Bound);
        await fixture.CompleteAsync(limited, _b).WaitAsync(Bound);
        Assert.Equal((CircuitState.Open, 2), (fixture.Router.CircuitStateOf(limited.Name), fixture.Rpm.Asks));

        var routed = await fixture.CompleteAsync(limited, _b).WaitAsync(Bound);

        Assert.Equal(AttemptOutcome.CircuitOpen, routed.Attempts[0].Outcome);
        Assert.Equal(2, fixture.Rpm.Asks);
    }

    [Fact]
    public async Task An_open_circuit_lets_one_probe_through_after_the_break_and_closes_when_it_succeeds()
    {
        using var fixture = new RouterFixture(new RouterOptions
        {
            MaxRetries = 0,
            TotalTimeout = TimeSpan.FromHours(1),
            MinimumThroughput = 2,
            SamplingDuration = TimeSpan.FromHours(1),
            BreakDuration = TimeSpan.FromSeconds(5), // 5 ms real
        });
        fixture.Provider.Script(_a, Step.Fail(500), Step.Fail(500), Step.Ok);
        await fixture.CompleteAsync(_a, _b).WaitAsync(Bound);
        await fixture.CompleteAsync(_a, _b).WaitAsync(Bound);
        Assert.Equal(CircuitState.Open, fixture.Router.CircuitStateOf(_a.Name));

        await Task.Delay(TimeSpan.FromMilliseconds(50));
        var routed = await fixture.CompleteAsync(_a, _b).WaitAsync(Bound);

        Assert.Same(_a, routed.Deployment);
        Assert.Equal(CircuitState.Closed, fixture.Router.CircuitStateOf(_a.Name));
    }

    [Fact]
    public async Task Requests_that_are_not_the_deployments_fault_do_not_open_its_circuit()
    {
        using var fixture = new RouterFixture(new RouterOptions
        {
            MaxRetries = 0,
            TotalTimeout = TimeSpan.FromHours(1),
            MinimumThroughput = 2,
            SamplingDuration = TimeSpan.FromHours(1),
            BreakDuration = TimeSpan.FromHours(1),
        });
        fixture.Provider.Script(_a, Step.Fail(400));

        for (var i = 0; i < 5; i++)
        {
            await Assert.ThrowsAsync<RoutingException>(() => fixture.CompleteAsync(_a, _b).WaitAsync(Bound));
        }

        Assert.Equal(CircuitState.Closed, fixture.Router.CircuitStateOf(_a.Name));
        Assert.Equal(5, fixture.Provider.CallsTo(_a));
    }

    [Fact]
    public async Task An_exhausted_rpm_budget_skips_to_the_next_deployment_without_calling_it()
    {
        var limited = RouterFixture.Deployment("a", rpm: 60);
        _fixture.Rpm.Refused[limited.Name] = TimeSpan.FromSeconds(7);

        var routed = await _fixture.CompleteAsync(limited, _b).WaitAsync(Bound);

        Assert.Same(_b, routed.Deployment);
        Assert.Equal(0, _fixture.Provider.CallsTo(limited));
        Assert.Equal(1, _fixture.Rpm.Asks); // b has no limit: not asked
        Assert.Equal((AttemptOutcome.RpmExhausted, (TimeSpan?)TimeSpan.FromSeconds(7)), (routed.Attempts[0].Outcome, routed.Attempts[0].RetryAfter));
    }

    [Fact]
    public async Task Every_deployment_rate_limited_answers_429_with_the_smallest_retry_after()
    {
        var limited = RouterFixture.Deployment("a", rpm: 60);
        _fixture.Rpm.Refused[limited.Name] = TimeSpan.FromSeconds(20);
        _fixture.Provider.Script(_b, Step.Fail(429, retryAfter: TimeSpan.FromSeconds(90)));

        var ex = await Assert.ThrowsAsync<RoutingException>(() => _fixture.CompleteAsync(limited, _b).WaitAsync(Bound));

        Assert.Equal(429, ex.StatusCode);
        Assert.Equal(RoutingFailure.RateLimited, ex.Reason);
        Assert.Equal(TimeSpan.FromSeconds(20), ex.RetryAfter);
        Assert.Equal(1, _fixture.Provider.CallsTo(_b)); // 90 s is above MaxRetryDelay: not waited for
    }

    [Fact]
    public async Task Upstream_errors_everywhere_answer_502_with_a_message_safe_to_show()
    {
        var a = RouterFixture.Deployment("a", apiKey: "sk-very-secret");
        _fixture.Provider.Script(a, Step.Fail(500));
        _fixture.Provider.Script(_b, Step.Fail(401));

        var ex = await Assert.ThrowsAsync<RoutingException>(() => _fixture.CompleteAsync(a, _b).WaitAsync(Bound));

        Assert.Equal(502, ex.StatusCode);
        Assert.Equal(RoutingFailure.UpstreamError, ex.Reason);
        Assert.Null(ex.RetryAfter);
        Assert.Equal("No deployment of model 'm' could answer (a/m-up: upstream_error 500; b/m-up: deployment_error 401).", ex.Message);
        Assert.DoesNotContain("sk-very-secret", ex.Message, StringComparison.Ordinal);
        Assert.Equal(4, ex.Attempts.Count);
    }

    [Fact]
    public async Task Open_circuits_and_timeouts_everywhere_answer_503()
    {
        using var fixture = new RouterFixture(new RouterOptions
        {
            MaxRetries = 0,
            TotalTimeout = TimeSpan.FromHours(1),
            MinimumThroughput = 2,
            SamplingDuration = TimeSpan.FromHours(1),
            BreakDuration = TimeSpan.FromHours(1),
        });
        var slow = RouterFixture.Deployment("slow", timeout: TimeSpan.FromSeconds(1));
        fixture.Provider.Script(_a, Step.Fail(503));
        fixture.Provider.Script(slow, Step.Hangs);
        await Assert.ThrowsAsync<RoutingException>(() => fixture.CompleteAsync(_a).WaitAsync(Bound));
        await Assert.ThrowsAsync<RoutingException>(() => fixture.CompleteAsync(_a).WaitAsync(Bound));

        var ex = await Assert.ThrowsAsync<RoutingException>(() => fixture.CompleteAsync(_a, slow).WaitAsync(Bound));

        Assert.Equal(503, ex.StatusCode);
        Assert.Equal(RoutingFailure.Unavailable, ex.Reason);
        Assert.Equal(
            [("a/m-up", AttemptOutcome.CircuitOpen), ("slow/m-up", AttemptOutcome.Timeout)],
            ex.Attempts.Select(a => (a.Deployment, a.Outcome)));
        Assert.NotNull(ex.RetryAfter); // the open circuit's remaining break
    }

    [Fact]
    public async Task A_timed_out_attempt_is_retried()
    {
        var a = RouterFixture.Deployment("a", timeout: TimeSpan.FromSeconds(2));
        _fixture.Provider.Script(a, Step.Hangs, Step.Ok);

        var routed = await _fixture.CompleteAsync(a, _b).WaitAsync(Bound);

        Assert.Same(a, routed.Deployment);
        Assert.Equal([AttemptOutcome.Timeout, AttemptOutcome.Succeeded], routed.Attempts.Select(x => x.Outcome));
        Assert.True(routed.Attempts[0].Duration >= TimeSpan.FromSeconds(2), $"took {routed.Attempts[0].Duration}");
        Assert.Equal("no answer within 2 s", routed.Attempts[0].Error);
    }

    [Fact]
    public async Task The_total_timeout_bounds_every_attempt_and_backoff()
    {
        using var fixture = new RouterFixture(new RouterOptions { TotalTimeout = TimeSpan.FromSeconds(60) }); // 60 ms real
        fixture.Provider.Script(_a, Step.Hangs);

        var ex = await Assert.ThrowsAsync<RoutingException>(() => fixture.CompleteAsync(_a, _b).WaitAsync(Bound));

        Assert.Equal(503, ex.StatusCode);
        Assert.Equal(0, fixture.Provider.CallsTo(_b));
        Assert.Equal(AttemptOutcome.TotalTimeout, Assert.Single(ex.Attempts).Outcome);
        Assert.Equal("No deployment of model 'm' could answer (a/m-up: the routing time budget (60 s) ran out; 1 more not tried (time budget used up)).", ex.Message);
        Assert.Equal(CircuitState.Closed, fixture.Router.CircuitStateOf(_a.Name));
    }

    [Fact]
    public async Task The_callers_cancellation_stops_at_once_and_is_never_a_deployment_failure()
    {
        using var fixture = new RouterFixture(new RouterOptions
        {
            TotalTimeout = TimeSpan.FromHours(1),
            MinimumThroughput = 2,
            SamplingDuration = TimeSpan.FromHours(1),
            BreakDuration = TimeSpan.FromHours(1),
        });
        fixture.Provider.Script(_a, Step.Hangs);

        for (var i = 0; i < 3; i++)
        {
            using var caller = new CancellationTokenSource();
            var call = fixture.Router.CompleteAsync([_a, _b], RouterFixture.Request(), d => 100, caller.Token);
            // The caller gives up once the deployment is being called (not before: on a loaded machine a fixed delay
            // could cancel before the attempt started).
            var deadline = DateTime.UtcNow + Bound;
            while (fixture.Provider.CallsTo(_a) < i + 1 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(1);
            }

            await caller.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(Bound));
        }

        Assert.Equal(3, fixture.Provider.CallsTo(_a)); // once per call: never retried
        Assert.Equal(0, fixture.Provider.CallsTo(_b)); // never fallen back
        Assert.Equal(CircuitState.Closed, fixture.Router.CircuitStateOf(_a.Name));
        Assert.DoesNotContain(fixture.Logger.Entries, e => e.Level >= LogLevel.Information);
    }

    [Fact]
    public async Task An_already_canceled_call_calls_no_deployment()
    {
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _fixture.Router.CompleteAsync([_a], RouterFixture.Request(), d => 100, new CancellationToken(canceled: true)));

        Assert.Equal(0, _fixture.Provider.CallsTo(_a));
    }

    [Fact]
    public async Task The_output_limit_is_asked_for_each_deployment_tried()
    {
        _fixture.Provider.Script(_a, Step.Fail(404));

        await _fixture.Router.CompleteAsync([_a, _b], RouterFixture.Request(), d => d == _a ? 100 : 200, CancellationToken.None).WaitAsync(Bound);

        Assert.Equal([("a/m-up", 100), ("b/m-up", 200)], _fixture.Provider.Calls.Select(c => (c.Deployment.Name, c.MaxTokens)));
    }

    [Fact]
    public async Task A_deployment_whose_type_has_no_provider_is_skipped()
    {
        var orphan = new ChatDeployment { Provider = "x", Type = "openai", Model = "m", UpstreamModel = "m" };

        var routed = await _fixture.CompleteAsync(orphan, _b).WaitAsync(Bound);

        Assert.Same(_b, routed.Deployment);
        Assert.Equal((AttemptOutcome.DeploymentError, "No provider implements type 'openai'."), (routed.Attempts[0].Outcome, routed.Attempts[0].Error));
    }

    [Fact]
    public async Task No_retries_configured_means_one_attempt_per_deployment()
    {
        using var fixture = new RouterFixture(new RouterOptions { MaxRetries = 0, TotalTimeout = TimeSpan.FromHours(1) });
        fixture.Provider.Script(_a, Step.Fail(503));

        var routed = await fixture.CompleteAsync(_a, _b).WaitAsync(Bound);

        Assert.Same(_b, routed.Deployment);
        Assert.Equal(1, fixture.Provider.CallsTo(_a));
    }
}
