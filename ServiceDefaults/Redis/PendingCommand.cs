using System.Diagnostics;

namespace SmartHub.ServiceDefaults.Redis;

/// <summary>
/// A command written to the socket and waiting for its reply. Replies complete them in FIFO order; cancellation,
/// timeout and connection loss complete them early (the late reply is then discarded).
/// </summary>
internal sealed class PendingCommand : TaskCompletionSource<RedisResult>
{
    private readonly Activity? _activity;
    private readonly TimeProvider _timeProvider;
    private readonly bool _instrumented;
    private CancellationTokenRegistration _cancellation;

    public PendingCommand(string command, TimeProvider timeProvider, bool instrumented, string? serverAddress, int serverPort)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        Command = command;
        _timeProvider = timeProvider;
        _instrumented = instrumented;
        StartTimestamp = timeProvider.GetTimestamp();
        if (instrumented && Activity.Current is { } parent && RedisTelemetry.ActivitySource.HasListeners())
        {
            // Only as a child of an existing trace: background loops and health probes make no root spans.
            _activity = RedisTelemetry.ActivitySource.StartActivity(command, ActivityKind.Client);
            if (_activity is not null)
            {
                _activity.SetTag("db.system.name", "redis");
                _activity.SetTag("db.operation.name", command);
                _activity.SetTag("server.address", serverAddress);
                _activity.SetTag("server.port", serverPort);
                Activity.Current = parent; // the caller's context must not keep our span as current
            }
        }
    }

    public string Command { get; }

    public long StartTimestamp { get; }

    public void RegisterCancellation(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(
                static (state, token) => ((PendingCommand)state!).Cancel(token), this);
        }
    }

    public void Complete(in RedisResult result)
    {
        if (result.IsError)
        {
            if (TrySetException(new RedisServerException(result.ErrorMessage!)))
            {
                Finish("server");
            }
        }
        else if (TrySetResult(result))
        {
            Finish(null);
        }
    }

    public void Fail(Exception exception)
    {
        if (TrySetException(exception))
        {
            Finish(exception switch
            {
                RedisTimeoutException => "timeout",
                RedisConnectionException => "connection",
                _ => exception.GetType().Name,
            });
        }
    }

    private void Cancel(CancellationToken token)
    {
        if (TrySetCanceled(token))
        {
            Finish("canceled");
        }
    }

    private void Finish(string? errorType)
    {
        _cancellation.Dispose();
        if (!_instrumented)
        {
            return;
        }

        var tags = new TagList { { "db.operation.name", Command } };
        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
            RedisTelemetry.Errors.Add(1, tags);
        }

        RedisTelemetry.Commands.Add(1, tags);
        RedisTelemetry.Duration.Record(_timeProvider.GetElapsedTime(StartTimestamp).TotalSeconds, tags);
        if (_activity is not null)
        {
            if (errorType is not null)
            {
                _activity.SetStatus(ActivityStatusCode.Error);
                _activity.SetTag("error.type", errorType);
            }

            _activity.Dispose();
        }
    }
}
