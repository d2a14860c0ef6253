using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace SmartHub.FakeProviders;

/// <summary>
/// A real HTTP server (Kestrel on 127.0.0.1) that plays an LLM provider: what the two fakes share. It records every
/// request, answers deterministically, and can be scripted (failures, delays, cut streams, errors inside streams).
/// The protocol itself (paths, auth, validation, body and stream formats) is the subclass's.
/// </summary>
/// <remarks>
/// Scripting is thread-safe and takes effect for the next request. Order per request: recorded →
/// <see cref="ResponseDelay"/> → a scripted failure (<see cref="FailNext(int, FakeFailure)"/>,
/// <see cref="FailAlways(FakeFailure)"/>) → a scripted raw answer (<see cref="RespondNext"/>) → the protocol's own
/// checks (key, body) → the answer.
/// </remarks>
public abstract class FakeProviderServer : IAsyncDisposable
{
    /// <summary>JSON as the real APIs write it: compact, non-ASCII text as is.</summary>
    protected static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private const int MaxBodyBytes = 32 * 1024 * 1024;
    private static readonly TimeSpan AbortGrace = TimeSpan.FromMilliseconds(200);

    private readonly Lock _lock = new();
    private readonly List<FakeRequest> _requests = [];
    private readonly Queue<FakeFailure> _nextFailures = new();
    private readonly Queue<(int Status, string ContentType, string Body)> _rawAnswers = new();
    private FakeFailure? _alwaysFailure;
    private TaskCompletionSource<FakeRequest> _firstAbort = NewAbortSource();
    private WebApplication? _app;
    private int _aborted;

    protected FakeProviderServer(FakeServerOptions? options, string defaultName, string defaultKey, string defaultKeyHeader)
    {
        options ??= new FakeServerOptions();
        Options = options;
        Name = options.Name ?? defaultName;
        ApiKey = options.RequireApiKey ? options.ApiKey ?? defaultKey : null;
        ApiKeyHeader = options.ApiKeyHeader ?? defaultKeyHeader;
        PathPrefix = "/" + options.PathPrefix.Trim('/');
        if (PathPrefix == "/")
        {
            PathPrefix = string.Empty;
        }
    }

    protected FakeServerOptions Options { get; }

    /// <summary>The name in its answers ("Fake &lt;Name&gt; answer: ...").</summary>
    public string Name { get; }

    /// <summary>The key it requires (null: none).</summary>
    public string? ApiKey { get; }

    /// <summary>The header it expects the key in.</summary>
    public string ApiKeyHeader { get; }

    /// <summary>"/v1" by default.</summary>
    public string PathPrefix { get; }

    public int Port { get; private set; }

    /// <summary>The API root to configure a provider with, e.g. "http://127.0.0.1:41234/v1".</summary>
    public string BaseUrl => $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}{PathPrefix}";

    public Uri BaseUri => new(BaseUrl + "/");

    /// <summary>Wait before answering anything (also before a scripted failure). The client leaving ends the wait.</summary>
    public TimeSpan ResponseDelay { get; set; }

    /// <summary>Wait between the chunks of a stream.</summary>
    public TimeSpan ChunkDelay { get; set; }

    /// <summary>Cut every stream after this many content chunks: the connection is aborted (no end, no [DONE]).</summary>
    public int? AbortStreamAfterChunks { get; set; }

    /// <summary>After this many content chunks, a stream reports an error in the protocol's own way and ends.</summary>
    public int? StreamErrorAfterChunks { get; set; }

    /// <summary>When the request has tools (and tool choice allows), answer with a call of the first (or the chosen) tool.</summary>
    public bool AnswerWithToolCalls { get; set; } = true;

    /// <summary>The answer's text instead of "Fake &lt;Name&gt; answer: &lt;last user message&gt;".</summary>
    public string? AnswerText { get; set; }

    /// <summary>Requests received since start or the last <see cref="Reset"/> (every path, failed ones included).</summary>
    public int CallCount
    {
        get
        {
            lock (_lock)
            {
                return _requests.Count;
            }
        }
    }

    /// <summary>Requests whose connection closed before their answer was complete.</summary>
    public int AbortedCount => Volatile.Read(ref _aborted);

    /// <summary>A snapshot of the requests received, in arrival order.</summary>
    public IReadOnlyList<FakeRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    public FakeRequest? LastRequest
    {
        get
        {
            lock (_lock)
            {
                return _requests.Count == 0 ? null : _requests[^1];
            }
        }
    }

    /// <summary>Fail the next <paramref name="count"/> requests with <paramref name="status"/> (and Retry-After seconds).</summary>
    public void FailNext(int count, int status, TimeSpan? retryAfter = null, string? message = null) =>
        FailNext(count, new FakeFailure(status, message) { RetryAfter = retryAfter });

    public void FailNext(int count, FakeFailure failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_lock)
        {
            for (var i = 0; i < count; i++)
            {
                _nextFailures.Enqueue(failure);
            }
        }
    }

    /// <summary>Fail every request from now on (a dead deployment), until <see cref="Recover"/> or <see cref="Reset"/>.</summary>
    public void FailAlways(int status = 503, string? message = null) => FailAlways(new FakeFailure(status, message));

    public void FailAlways(FakeFailure failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        lock (_lock)
        {
            _alwaysFailure = failure;
        }
    }

    /// <summary>
    /// Answer the next request (after any scripted failure) with exactly this, whatever it asked: for garbage,
    /// truncated JSON, a stream in the wrong format, or an error shape of another server.
    /// </summary>
    public void RespondNext(int status, string body, string contentType = "application/json")
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(contentType);
        lock (_lock)
        {
            _rawAnswers.Enqueue((status, contentType, body));
        }
    }

    /// <summary>Drops scripted failures and answers (the other settings stay).</summary>
    public void Recover()
    {
        lock (_lock)
        {
            _nextFailures.Clear();
            _rawAnswers.Clear();
            _alwaysFailure = null;
        }
    }

    /// <summary>Back to the state after start: no script, no delays, no recorded requests, counts at zero.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _nextFailures.Clear();
            _rawAnswers.Clear();
            _alwaysFailure = null;
            _requests.Clear();
            _firstAbort = NewAbortSource();
            Volatile.Write(ref _aborted, 0);
        }

        ResponseDelay = TimeSpan.Zero;
        ChunkDelay = TimeSpan.Zero;
        AbortStreamAfterChunks = null;
        StreamErrorAfterChunks = null;
        AnswerWithToolCalls = true;
        AnswerText = null;
    }

    /// <summary>The first request (since start or <see cref="Reset"/>) whose connection closed before its answer was complete.</summary>
    public Task<FakeRequest> WaitForAbortAsync(TimeSpan timeout)
    {
        lock (_lock)
        {
            return _firstAbort.Task.WaitAsync(timeout);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            {
                await app.StopAsync(stop.Token).ConfigureAwait(false);
            }

            await app.DisposeAsync().ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }

    public override string ToString() => $"{GetType().Name} {Name} at {BaseUrl}";

    /// <summary>Starts Kestrel on 127.0.0.1 (the configured port, or a free one).</summary>
    protected async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, Options.Port);
            kestrel.Limits.MaxRequestBodySize = MaxBodyBytes;
        });
        var app = builder.Build();
        app.Run(ProcessAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(address).Port;
        _app = app;
    }

    /// <summary>The protocol: auth, validation and the answer (a scripted failure has been handled already).</summary>
    protected abstract Task HandleAsync(HttpContext context, FakeRequest request);

    /// <summary>An error answer in the protocol's shape; <paramref name="message"/> null: the protocol's usual text.</summary>
    protected abstract Task WriteErrorAsync(HttpContext context, int status, string? message);

    private async Task ProcessAsync(HttpContext context)
    {
        var request = await RecordAsync(context).ConfigureAwait(false);
        var aborted = context.RequestAborted;
        using var registration = aborted.Register(() => OnAborted(request));
        try
        {
            if (ResponseDelay > TimeSpan.Zero)
            {
                await Task.Delay(ResponseDelay, aborted).ConfigureAwait(false);
            }

            if (TakeFailure() is { } failure)
            {
                WriteRetryAfter(context, failure);
                await WriteErrorAsync(context, failure.Status, failure.Message).ConfigureAwait(false);
            }
            else if (TakeRawAnswer() is { } raw)
            {
                context.Response.StatusCode = raw.Status;
                context.Response.ContentType = raw.ContentType;
                await context.Response.WriteAsync(raw.Body, aborted).ConfigureAwait(false);
            }
            else
            {
                await HandleAsync(context, request).ConfigureAwait(false);
            }

            if (!aborted.IsCancellationRequested)
            {
                await context.Response.CompleteAsync().ConfigureAwait(false);
                request.Completed = true;
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException && aborted.IsCancellationRequested)
        {
            // The client left (or a script aborted the connection): recorded by OnAborted.
        }
        finally
        {
            request.Status = context.Response.StatusCode;
        }
    }

    private void OnAborted(FakeRequest request)
    {
        if (request.Completed || !request.MarkAborted())
        {
            return;
        }

        Interlocked.Increment(ref _aborted);
        TaskCompletionSource<FakeRequest> first;
        lock (_lock)
        {
            first = _firstAbort;
        }

        first.TrySetResult(request);
    }

    private async Task<FakeRequest> RecordAsync(HttpContext context)
    {
        string body;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in context.Request.Headers)
        {
            headers[name] = values.ToString();
        }

        lock (_lock)
        {
            var request = new FakeRequest(_requests.Count + 1, context.Request.Method, context.Request.Path.Value ?? "/",
                context.Request.QueryString.Value ?? string.Empty, headers, body);
            _requests.Add(request);
            return request;
        }
    }

    private FakeFailure? TakeFailure()
    {
        lock (_lock)
        {
            return _nextFailures.TryDequeue(out var next) ? next : _alwaysFailure;
        }
    }

    private (int Status, string ContentType, string Body)? TakeRawAnswer()
    {
        lock (_lock)
        {
            return _rawAnswers.TryDequeue(out var raw) ? raw : null;
        }
    }

    private static void WriteRetryAfter(HttpContext context, FakeFailure failure)
    {
        if (failure.RetryAfter is { } delta)
        {
            context.Response.Headers["retry-after"] = ((long)Math.Ceiling(delta.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
        else if (failure.RetryAfterDate is { } date)
        {
            context.Response.Headers["retry-after"] = date.ToString("r", CultureInfo.InvariantCulture);
        }

        if (failure.RetryAfterMs is { } milliseconds)
        {
            context.Response.Headers["retry-after-ms"] = ((long)milliseconds.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        }
    }

    private static TaskCompletionSource<FakeRequest> NewAbortSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    // ---- Helpers for the protocols ----

    /// <summary>The path under <see cref="PathPrefix"/> ("/chat/completions"), or null when the path is outside it.</summary>
    protected string? RelativePath(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var path = context.Request.Path.Value ?? "/";
        return path.StartsWith(PathPrefix + "/", StringComparison.Ordinal) ? path[PathPrefix.Length..] : null;
    }

    protected static async Task WriteJsonAsync(HttpContext context, int status, JsonNode body)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(body);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(Json), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Starts a text/event-stream answer.</summary>
    protected static async Task StartStreamAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/event-stream; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>One server-sent event (with an <c>event:</c> line when <paramref name="eventName"/> is given), flushed.</summary>
    protected static async Task WriteEventAsync(HttpContext context, string? eventName, string data)
    {
        ArgumentNullException.ThrowIfNull(context);
        var text = eventName is null ? $"data: {data}\n\n" : $"event: {eventName}\ndata: {data}\n\n";
        await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>What a stream does at a content chunk (see <see cref="BeforeChunkAsync"/>).</summary>
    protected enum ChunkStep
    {
        /// <summary>Write the chunk.</summary>
        Write,

        /// <summary>The connection has been aborted: write nothing more.</summary>
        Abort,

        /// <summary>Report an error in the protocol's way and end the stream.</summary>
        Error,
    }

    /// <summary>
    /// Before content chunk <paramref name="index"/> (0-based): waits <see cref="ChunkDelay"/> (not before the first),
    /// then applies the stream script (<see cref="AbortStreamAfterChunks"/>, <see cref="StreamErrorAfterChunks"/>).
    /// </summary>
    protected async Task<ChunkStep> BeforeChunkAsync(HttpContext context, FakeRequest request, int index)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(request);
        if (index > 0 && ChunkDelay > TimeSpan.Zero)
        {
            await Task.Delay(ChunkDelay, context.RequestAborted).ConfigureAwait(false);
        }

        if (AbortStreamAfterChunks is { } abortAfter && index >= abortAfter)
        {
            // Give the client time to read what was sent: an abort resets the connection, and a reset discards
            // whatever the client had not read yet.
            await Task.Delay(AbortGrace, context.RequestAborted).ConfigureAwait(false);
            OnAborted(request);
            context.Abort();
            return ChunkStep.Abort;
        }

        if (StreamErrorAfterChunks is { } errorAfter && index >= errorAfter)
        {
            return ChunkStep.Error;
        }

        request.CountChunk();
        return ChunkStep.Write;
    }

    /// <summary>
    /// The answer to a conversation: "Fake &lt;Name&gt; answer: &lt;last user message&gt;" (plus the tool result when
    /// the last message is one), cut at the first stop sequence and at <paramref name="maxTokens"/> pieces.
    /// </summary>
    protected FakeAnswer ComposeAnswer(string lastUser, string? toolResult, IReadOnlyList<string> stop, int? maxTokens)
    {
        ArgumentNullException.ThrowIfNull(stop);
        var text = AnswerText ?? $"Fake {Name} answer: {lastUser}" + (toolResult is null ? string.Empty : $" [tool result: {toolResult}]");
        string? stopSequence = null;
        var cut = text.Length;
        foreach (var sequence in stop)
        {
            var at = sequence.Length == 0 ? -1 : text.IndexOf(sequence, StringComparison.Ordinal);
            if (at >= 0 && at < cut)
            {
                cut = at;
                stopSequence = sequence;
            }
        }

        var pieces = Split(text[..cut]);
        var truncated = maxTokens is { } max && pieces.Count > max;
        if (truncated)
        {
            pieces = pieces.Take(maxTokens!.Value).ToList();
        }

        return new FakeAnswer(string.Concat(pieces), pieces, truncated ? null : stopSequence, truncated);
    }

    /// <summary>The answer's stream pieces: the first word, then each following word with its leading space.</summary>
    public static List<string> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<string>();
        var start = 0;
        for (var i = 1; i <= text.Length; i++)
        {
            if (i == text.Length || (char.IsWhiteSpace(text[i]) && !char.IsWhiteSpace(text[i - 1])))
            {
                if (i > start)
                {
                    pieces.Add(text[start..i]);
                }

                start = i;
            }
        }

        return pieces;
    }

    /// <summary>A token estimate with the look of real counts: a word is a token per 4 characters, at least one.</summary>
    public static int EstimateTokens(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        var tokens = 0;
        foreach (var word in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            tokens += Math.Max(1, (word.Length + 3) / 4);
        }

        return tokens;
    }

    /// <summary>Arguments that fit a JSON schema's properties: strings get <paramref name="text"/>, numbers 1, booleans true.</summary>
    protected static string ToolArguments(JsonElement schema, string text)
    {
        var arguments = new JsonObject();
        if (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in properties.EnumerateObject())
            {
                var type = property.Value.ValueKind == JsonValueKind.Object && property.Value.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
                    ? t.GetString()
                    : "string";
                arguments[property.Name] = type switch
                {
                    "integer" or "number" => JsonValue.Create(1),
                    "boolean" => JsonValue.Create(true),
                    "array" => new JsonArray(),
                    "object" => new JsonObject(),
                    _ => property.Value.ValueKind == JsonValueKind.Object && property.Value.TryGetProperty("enum", out var values)
                         && values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0
                        ? JsonNode.Parse(values[0].GetRawText())
                        : JsonValue.Create(text),
                };
            }
        }

        return arguments.ToJsonString(Json);
    }

    /// <summary>A string in pieces of at most <paramref name="size"/> characters (tool arguments as a stream sends them).</summary>
    protected static List<string> Chop(string text, int size)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<string>();
        for (var i = 0; i < text.Length; i += size)
        {
            pieces.Add(text.Substring(i, Math.Min(size, text.Length - i)));
        }

        return pieces;
    }

    /// <summary>A deterministic id: the prefix and the request's number.</summary>
    protected static string Id(string prefix, FakeRequest request, int index = 0)
    {
        ArgumentNullException.ThrowIfNull(request);
        return string.Create(CultureInfo.InvariantCulture, $"{prefix}fake{request.Number:D6}{(index == 0 ? string.Empty : "_" + index)}");
    }

    /// <summary>Unix seconds now, for "created".</summary>
    protected long UnixNow() => Options.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
}

/// <summary>A composed answer: its text, the pieces a stream sends, the stop sequence that cut it, whether max tokens did.</summary>
public sealed record FakeAnswer(string Text, IReadOnlyList<string> Pieces, string? StopSequence, bool Truncated);
