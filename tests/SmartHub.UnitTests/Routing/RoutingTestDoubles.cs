using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using SmartHub.McpServer.Providers;
using SmartHub.McpServer.Routing;
using SmartHub.ServiceDefaults.Telemetry;
using SmartHub.UnitTests.Gateway;

namespace SmartHub.UnitTests.Routing;

/// <summary>
/// Real time, run <c>speedup</c> times faster: timers fire after 1/speedup of their due time and clocks advance that
/// much faster, so a 30 s break lasts 30 ms and a 250 ms backoff 0.25 ms, while every duration the code measures or
/// compares stays in its own (virtual) units. Records every timer's requested due time (backoffs, Retry-After waits).
/// </summary>
internal sealed class FastClock(double speedup = 1000) : TimeProvider
{
    private static readonly DateTimeOffset s_epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly long _start = Stopwatch.GetTimestamp();

    public ConcurrentQueue<TimeSpan> TimerDueTimes { get; } = new();

    public override long TimestampFrequency => (long)(Stopwatch.Frequency / speedup);

    public override long GetTimestamp() => Stopwatch.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => s_epoch + GetElapsedTime(_start);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        TimerDueTimes.Enqueue(dueTime);
        return System.CreateTimer(callback, state, Scale(dueTime), Scale(period));
    }

    private TimeSpan Scale(TimeSpan span) =>
        span == Timeout.InfiniteTimeSpan || span == TimeSpan.Zero ? span : TimeSpan.FromTicks(Math.Max(1, (long)(span.Ticks / speedup)));
}

/// <summary>What one provider call does: wait, hang until canceled, fail with a status; for a stream, what happens after its first delta.</summary>
internal sealed record Step(
    bool Throws = false,
    int? Status = null,
    bool? Transient = null,
    TimeSpan? RetryAfter = null,
    TimeSpan? Delay = null,
    bool Hang = false,
    bool Empty = false,
    Step? AfterFirst = null)
{
    public static Step Ok { get; } = new();

    public static Step Hangs { get; } = new(Hang: true);

    /// <summary>A stream that ends without a delta.</summary>
    public static Step EmptyStream { get; } = new(Empty: true);

    public static Step Fail(int? status, TimeSpan? retryAfter = null, bool? transient = null) =>
        new(Throws: true, Status: status, Transient: transient, RetryAfter: retryAfter);

    public static Step Sleep(TimeSpan delay) => new(Delay: delay);

    public async Task RunAsync(string provider, TimeProvider time, CancellationToken cancellationToken)
    {
        if (Delay is { } delay)
        {
            await Task.Delay(delay, time, cancellationToken);
        }

        if (Hang)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, time, cancellationToken);
        }

        if (Throws)
        {
            var transient = Transient ?? (Status is not { } status || ProviderException.IsTransientStatus(status));
            throw new ProviderException(provider, $"{provider} failed ({Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no answer"})", Status, transient, RetryAfter);
        }
    }
}

/// <summary>
/// A provider (type "scripted") that follows a script per deployment name: each call takes the next step, the last
/// step repeats. Unscripted deployments answer at once. Counts calls and finished (disposed) streams.
/// </summary>
internal sealed class ScriptedProvider(TimeProvider time) : IChatProvider
{
    public const string TypeName = "scripted";

    private readonly ConcurrentDictionary<string, Step[]> _scripts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);
    private int _streamsDisposed;

    public string Type => TypeName;

    public ConcurrentQueue<ChatCall> Calls { get; } = new();

    public int StreamsDisposed => Volatile.Read(ref _streamsDisposed);

    public ScriptedProvider Script(ChatDeployment deployment, params Step[] steps)
    {
        _scripts[deployment.Name] = steps;
        return this;
    }

    public int CallsTo(ChatDeployment deployment) => _calls.TryGetValue(deployment.Name, out var calls) ? calls : 0;

    public async Task<ChatCompletion> CompleteAsync(ChatCall call, CancellationToken cancellationToken)
    {
        await Next(call).RunAsync(call.Deployment.Provider, time, cancellationToken);
        return new ChatCompletion($"answer from {call.Deployment.Name}", FinishReasons.Stop, new TokenUsage(3, 4));
    }

    public async IAsyncEnumerable<ChatDelta> StreamAsync(ChatCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var step = Next(call);
        try
        {
            await step.RunAsync(call.Deployment.Provider, time, cancellationToken);
            if (step.Empty)
            {
                yield break;
            }

            yield return new ChatDelta(Content: "first");
            if (step.AfterFirst is { } after)
            {
                await after.RunAsync(call.Deployment.Provider, time, cancellationToken);
            }

            yield return new ChatDelta(Content: " second");
            yield return new ChatDelta(FinishReason: FinishReasons.Stop, Usage: new TokenUsage(3, 2));
        }
        finally
        {
            Interlocked.Increment(ref _streamsDisposed);
        }
    }

    private Step Next(ChatCall call)
    {
        Calls.Enqueue(call);
        var n = _calls.AddOrUpdate(call.Deployment.Name, 1, static (_, c) => c + 1);
        return _scripts.TryGetValue(call.Deployment.Name, out var steps) && steps.Length > 0 ? steps[Math.Min(n, steps.Length) - 1] : Step.Ok;
    }
}

/// <summary>An RPM limiter that refuses the deployments named in <see cref="Refused"/> (with their Retry-After) and counts asks.</summary>
internal sealed class FakeRpmLimiter : IRpmLimiter
{
    private int _asks;

    public ConcurrentDictionary<string, TimeSpan> Refused { get; } = new(StringComparer.Ordinal);

    public int Asks => Volatile.Read(ref _asks);

    public ValueTask<RpmDecision> TryAcquireAsync(ChatDeployment deployment, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _asks);
        return new(Refused.TryGetValue(deployment.Name, out var retryAfter) ? RpmDecision.Refuse(retryAfter) : RpmDecision.Allow);
    }
}

/// <summary>A router over scripted deployments, on a fast clock; disposes its telemetry.</summary>
internal sealed class RouterFixture : IDisposable
{
    private readonly ServiceTelemetry _telemetry = new("SmartHub.Tests.Routing." + Guid.NewGuid().ToString("N"));

    public RouterFixture(RouterOptions? options = null, double speedup = 1000)
    {
        Clock = new FastClock(speedup);
        Provider = new ScriptedProvider(Clock);
        Options = options ?? Fast();
        Router = new DeploymentRouter(
            new ProviderRegistry([Provider]), Rpm, Microsoft.Extensions.Options.Options.Create(Options), Clock, _telemetry, Logger);
    }

    public FastClock Clock { get; }

    public ScriptedProvider Provider { get; }

    public FakeRpmLimiter Rpm { get; } = new();

    public ListLogger<DeploymentRouter> Logger { get; } = new();

    public RouterOptions Options { get; }

    public DeploymentRouter Router { get; }

    /// <summary>Defaults, except that the whole call may take an hour of virtual time (3.6 s real) so slow CI never trips it.</summary>
    public static RouterOptions Fast() => new() { TotalTimeout = TimeSpan.FromHours(1) };

    /// <summary>A deployment "name/model" of the scripted type; its attempts time out after an hour unless told otherwise.</summary>
    public static ChatDeployment Deployment(string provider, int? rpm = null, TimeSpan? timeout = null, string? apiKey = null) => new()
    {
        Provider = provider,
        Type = ScriptedProvider.TypeName,
        Model = "m",
        UpstreamModel = "m-up",
        RequestsPerMinute = rpm,
        Timeout = timeout ?? TimeSpan.FromHours(1),
        ApiKey = apiKey is null ? null : new ProviderSecret(apiKey),
    };

    public static ChatRequest Request(bool stream = false) => new("m", [new ChatMessage(ChatMessage.User, "hello")], Stream: stream);

    public Task<RoutedCompletion> CompleteAsync(params ChatDeployment[] deployments) =>
        Router.CompleteAsync(deployments, Request(), d => d.MaxOutputTokens, CancellationToken.None);

    public Task<RoutedStream> StreamAsync(params ChatDeployment[] deployments) =>
        Router.StreamAsync(deployments, Request(stream: true), d => d.MaxOutputTokens, CancellationToken.None);

    public void Dispose() => _telemetry.Dispose();
}
