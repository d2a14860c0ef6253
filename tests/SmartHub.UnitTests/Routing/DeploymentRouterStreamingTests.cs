using SmartHub.McpServer.Providers;
using SmartHub.McpServer.Routing;

namespace SmartHub.UnitTests.Routing;

public sealed class DeploymentRouterStreamingTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly ChatDeployment _a = RouterFixture.Deployment("a");
    private readonly ChatDeployment _b = RouterFixture.Deployment("b");
    private readonly RouterFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Failures_before_the_first_delta_are_retried()
    {
        _fixture.Provider.Script(_a, Step.Fail(503), Step.Ok);

        await using var stream = await _fixture.StreamAsync(_a, _b).WaitAsync(Bound);

        Assert.Same(_a, stream.Deployment);
        Assert.Equal("first", stream.FirstDelta.Content);
        Assert.Equal([AttemptOutcome.UpstreamError, AttemptOutcome.Succeeded], stream.Attempts.Select(a => a.Outcome));
        Assert.Equal(["first", " second", FinishReasons.Stop], await ReadAllAsync(stream));
        Assert.Equal(2, _fixture.Provider.StreamsDisposed); // the failed attempt's enumerator too
    }

    [Fact]
    public async Task Failures_before_the_first_delta_fall_back()
    {
        _fixture.Provider.Script(_a, Step.Fail(403));

        await using var stream = await _fixture.StreamAsync(_a, _b).WaitAsync(Bound);

        Assert.Same(_b, stream.Deployment);
        Assert.Equal([("a/m-up", AttemptOutcome.DeploymentError), ("b/m-up", AttemptOutcome.Succeeded)], stream.Attempts.Select(a => (a.Deployment, a.Outcome)));
    }

    [Fact]
    public async Task A_stream_that_ends_without_a_delta_is_the_deployments_fault()
    {
        _fixture.Provider.Script(_a, Step.EmptyStream);

        await using var stream = await _fixture.StreamAsync(_a, _b).WaitAsync(Bound);

        Assert.Same(_b, stream.Deployment);
        Assert.Equal(1, _fixture.Provider.CallsTo(_a));
        Assert.Equal("The stream ended before its first delta.", stream.Attempts[0].Error);
    }

    [Fact]
    public async Task A_failure_after_the_first_delta_is_the_callers_and_is_not_retried()
    {
        _fixture.Provider.Script(_a, new Step(AfterFirst: Step.Fail(503)));

        await using var stream = await _fixture.StreamAsync(_a, _b).WaitAsync(Bound);
        var ex = await Assert.ThrowsAsync<ProviderException>(async () => await stream.Rest.MoveNextAsync().AsTask().WaitAsync(Bound));

        Assert.Equal(503, ex.StatusCode);
        Assert.Equal(1, _fixture.Provider.CallsTo(_a));
        Assert.Equal(0, _fixture.Provider.CallsTo(_b));
        Assert.Equal(AttemptOutcome.Succeeded, Assert.Single(stream.Attempts).Outcome);
    }

    [Fact]
    public async Task The_deployments_timeout_bounds_the_whole_stream()
    {
        var a = RouterFixture.Deployment("a", timeout: TimeSpan.FromSeconds(2)); // 2 ms real
        _fixture.Provider.Script(a, new Step(AfterFirst: Step.Hangs));

        await using var stream = await _fixture.StreamAsync(a, _b).WaitAsync(Bound);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await stream.Rest.MoveNextAsync().AsTask().WaitAsync(Bound));

        Assert.True(stream.TimedOut);
        Assert.True(stream.CancellationToken.IsCancellationRequested);
        Assert.Equal(0, _fixture.Provider.CallsTo(_b));
    }

    [Fact]
    public async Task The_total_timeout_bounds_the_first_delta_only()
    {
        using var fixture = new RouterFixture(new RouterOptions { TotalTimeout = TimeSpan.FromSeconds(30) }); // 30 ms real
        fixture.Provider.Script(_a, new Step(AfterFirst: Step.Sleep(TimeSpan.FromSeconds(100)))); // 100 ms real, past the budget

        await using var stream = await fixture.StreamAsync(_a).WaitAsync(Bound);

        Assert.Equal(["first", " second", FinishReasons.Stop], await ReadAllAsync(stream));
        Assert.False(stream.TimedOut);
    }

    [Fact]
    public async Task The_total_timeout_applies_before_the_first_delta()
    {
        using var fixture = new RouterFixture(new RouterOptions { TotalTimeout = TimeSpan.FromSeconds(30) });
        fixture.Provider.Script(_a, Step.Hangs);

        var ex = await Assert.ThrowsAsync<RoutingException>(() => fixture.StreamAsync(_a, _b).WaitAsync(Bound));

        Assert.Equal(503, ex.StatusCode);
        // Every stream that was opened is disposed. (On a loaded machine the 30 ms budget can run out before the
        // stream is even opened, so the count is not pinned to 1.)
        Assert.Equal(fixture.Provider.CallsTo(_a), fixture.Provider.StreamsDisposed);
    }

    [Fact]
    public async Task The_callers_cancellation_ends_the_stream_without_being_a_timeout()
    {
        _fixture.Provider.Script(_a, new Step(AfterFirst: Step.Hangs));
        using var caller = new CancellationTokenSource();

        await using var stream = await _fixture.Router.StreamAsync([_a, _b], RouterFixture.Request(stream: true), d => 100, caller.Token).WaitAsync(Bound);
        var next = stream.Rest.MoveNextAsync().AsTask();
        await caller.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(Bound));
        Assert.False(stream.TimedOut);
        Assert.Equal(0, _fixture.Provider.CallsTo(_b));
    }

    [Fact]
    public async Task Disposing_the_routed_stream_disposes_the_provider_stream()
    {
        _fixture.Provider.Script(_a, new Step(AfterFirst: Step.Hangs));

        var stream = await _fixture.StreamAsync(_a).WaitAsync(Bound);
        Assert.Equal(0, _fixture.Provider.StreamsDisposed);
        await stream.DisposeAsync();
        await stream.DisposeAsync();

        Assert.Equal(1, _fixture.Provider.StreamsDisposed);
    }

    [Fact]
    public async Task A_request_fault_before_the_first_delta_is_returned_as_it_is()
    {
        _fixture.Provider.Script(_a, Step.Fail(422));

        var ex = await Assert.ThrowsAsync<RoutingException>(() => _fixture.StreamAsync(_a, _b).WaitAsync(Bound));

        Assert.Equal(422, ex.StatusCode);
        Assert.Equal(0, _fixture.Provider.CallsTo(_b));
    }

    private static async Task<List<string?>> ReadAllAsync(RoutedStream stream)
    {
        var parts = new List<string?> { stream.FirstDelta.Content };
        while (await stream.Rest.MoveNextAsync().AsTask().WaitAsync(Bound))
        {
            parts.Add(stream.Rest.Current.Content ?? stream.Rest.Current.FinishReason);
        }

        return parts;
    }
}
