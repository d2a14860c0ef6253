using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SmartHub.ServiceDefaults.Http;

namespace SmartHub.McpServer.Providers;

/// <summary>
/// What the HTTP providers (openai, anthropic) share: building the call, sending it, and turning every way it can fail
/// into a <see cref="ProviderException"/> whose message is safe to log and show: the upstream's own error message (at
/// most <see cref="MaxMessageLength"/> characters), never the key, never the request.
/// </summary>
internal static class ProviderHttp
{
    public const int MaxMessageLength = 300;

    /// <summary>An error body is read up to this size: its message is all that is kept.</summary>
    private const int MaxErrorBodyBytes = 16 * 1024;

    /// <summary>
    /// How request bodies are written: text as it is (UTF-8), only what JSON requires escaped. The default encoder
    /// escapes for HTML too ("é" and '"' as \u00E9 and \u0022), which makes bodies larger and no safer for an API.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly MediaTypeHeaderValue s_json = new("application/json") { CharSet = "utf-8" };
    private static readonly MediaTypeWithQualityHeaderValue s_acceptJson = new("application/json");
    private static readonly MediaTypeWithQualityHeaderValue s_acceptEventStream = new("text/event-stream");

    /// <summary><c>{BaseUrl}{path}</c>, plus <c>?{Query}</c> when the deployment has one.</summary>
    public static Uri Endpoint(ChatDeployment deployment, string path)
    {
        var baseUrl = deployment.BaseUrl
            ?? throw new ProviderException(deployment.Provider, $"{deployment.Provider} has no BaseUrl.", null, isTransient: false);
        var uri = new Uri(baseUrl, path);
        return deployment.Query is { Length: > 0 } query ? new Uri($"{uri.GetLeftPart(UriPartial.Path)}?{query}") : uri;
    }

    /// <summary>A POST of <paramref name="body"/> (JSON) with the deployment's key in its header.</summary>
    public static HttpRequestMessage CreateRequest(ChatDeployment deployment, string path, ArrayBufferWriter<byte> body, bool stream, string defaultKeyHeader)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Endpoint(deployment, path))
        {
            Content = new ReadOnlyMemoryContent(body.WrittenMemory) { Headers = { ContentType = s_json } },
        };
        request.Headers.Accept.Add(stream ? s_acceptEventStream : s_acceptJson);

        // A chat call is not idempotent (it is billed): the router decides whether to try again, not the HTTP client.
        request.Options.Set(HttpRetryPolicy.DisableRetries, true);
        if (deployment.ApiKey is { } key)
        {
            var header = deployment.ApiKeyHeader ?? defaultKeyHeader;
            if (string.Equals(header, "Authorization", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key.Reveal());
            }
            else if (!request.Headers.TryAddWithoutValidation(header, key.Reveal()))
            {
                request.Dispose();
                throw new ProviderException(deployment.Provider, $"{deployment.Provider}: ApiKeyHeader '{header}' is not a valid request header name.", null, isTransient: false);
            }
        }

        return request;
    }

    /// <summary>
    /// Sends the call and returns the response once its headers are in (the body is read by the caller, as it comes).
    /// A non-2xx answer, a connection failure or a timeout below the caller is a <see cref="ProviderException"/>; the
    /// caller's cancellation is an <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async Task<HttpResponseMessage> SendAsync(
        HttpClient http, HttpRequestMessage request, ChatDeployment deployment, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException exception)
        {
            throw Unreachable(deployment, exception);
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProviderException(deployment.Provider, $"{deployment.Provider} did not answer in time.", null, isTransient: true, innerException: exception);
        }
        catch (InvalidOperationException exception)
        {
            // An unusable address, e.g. a host without dots that service discovery does not know.
            throw new ProviderException(deployment.Provider, $"{deployment.Provider} cannot be called: {Clean(exception.Message, deployment)}", null, isTransient: false);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw await ErrorAsync(response, deployment, timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The next event of a stream; false at its end. A dropped connection is transient, garbage is not.</summary>
    public static async ValueTask<bool> NextEventAsync(SseReader events, ChatDeployment deployment, CancellationToken cancellationToken)
    {
        try
        {
            return await events.MoveNextAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is IOException or HttpRequestException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw Unreachable(deployment, exception);
        }
        catch (InvalidDataException exception)
        {
            throw Malformed(deployment, "a stream that is not server-sent events", exception);
        }
    }

    /// <summary>The connection failed (refused, reset, DNS, TLS, or dropped while the body was read): worth another try.</summary>
    public static ProviderException Unreachable(ChatDeployment deployment, Exception exception) =>
        new(deployment.Provider, $"{deployment.Provider} could not be reached: {Clean(exception.Message, deployment)}", null, isTransient: true, innerException: exception);

    /// <summary>The upstream answered 2xx with something that is not what its protocol promises.</summary>
    public static ProviderException Malformed(ChatDeployment deployment, string what, Exception? exception = null) =>
        new(deployment.Provider, $"{deployment.Provider} answered with {what}.", null, isTransient: false, innerException: exception);

    /// <summary>The answer to a non-2xx response: "openai-main answered 429: Rate limit reached ...".</summary>
    public static async Task<ProviderException> ErrorAsync(
        HttpResponseMessage response, ChatDeployment deployment, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        string message;
        try
        {
            var body = await ReadPrefixAsync(response.Content, MaxErrorBodyBytes, cancellationToken).ConfigureAwait(false);
            message = ErrorMessage(body, response.Content.Headers.ContentType?.MediaType) ?? response.ReasonPhrase ?? "no error message";
        }
        catch (Exception exception) when (exception is IOException or HttpRequestException)
        {
            message = response.ReasonPhrase ?? "no error message";
        }

        return new ProviderException(
            deployment.Provider,
            $"{deployment.Provider} answered {status}: {Clean(message, deployment)}",
            status,
            ProviderException.IsTransientStatus(status),
            RetryAfter(response, timeProvider));
    }

    /// <summary>
    /// The wait an upstream asks for: <c>retry-after-ms</c> (OpenAI, precise) or <c>Retry-After</c> as delta-seconds or
    /// an HTTP date (relative to <paramref name="timeProvider"/>'s now, never negative). Null when it asks for none.
    /// </summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider timeProvider)
    {
        if (response.Headers.TryGetValues("retry-after-ms", out var values)
            && double.TryParse(values.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds)
            && milliseconds >= 0 && milliseconds < TimeSpan.FromDays(1).TotalMilliseconds)
        {
            return TimeSpan.FromMilliseconds(milliseconds);
        }

        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return delta;
        }

        if (retryAfter?.Date is { } date)
        {
            var wait = date - timeProvider.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    /// <summary>
    /// The message in an error body: <c>error.message</c> (OpenAI, Anthropic), <c>error</c> as a string (Ollama),
    /// <c>message</c> or <c>detail</c> (other compatible servers); a plain-text body as it is. Null when none is found.
    /// </summary>
    public static string? ErrorMessage(ReadOnlySpan<byte> body, string? mediaType)
    {
        if (body.IsEmpty)
        {
            return null;
        }

        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (JsonDocument.TryParseValue(ref reader, out var document))
            {
                using (document)
                {
                    return ErrorMessage(document.RootElement);
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON (or cut at the read limit): fall through to plain text.
        }

        if (mediaType is null || mediaType.StartsWith("text/plain", StringComparison.OrdinalIgnoreCase))
        {
            return Encoding.UTF8.GetString(body);
        }

        return null;
    }

    /// <summary>The error message of a parsed error body (see <see cref="ErrorMessage(ReadOnlySpan{byte}, string?)"/>).</summary>
    public static string? ErrorMessage(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (root.TryGetProperty("error", out var error))
        {
            if (error.ValueKind == JsonValueKind.String)
            {
                return error.GetString();
            }

            if (error.ValueKind == JsonValueKind.Object)
            {
                if (error.TryGetProperty("message", out var inner) && inner.ValueKind == JsonValueKind.String)
                {
                    return inner.GetString();
                }

                if (error.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String)
                {
                    return type.GetString();
                }
            }
        }

        foreach (var name in (ReadOnlySpan<string>)["message", "detail"])
        {
            if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
            {
                return value.GetString();
            }
        }

        return null;
    }

    /// <summary>
    /// Upstream text made safe to leave the hub: the deployment's key masked wherever it appears (an upstream may echo
    /// it), control characters and runs of whitespace collapsed to one space, cut to <see cref="MaxMessageLength"/>.
    /// </summary>
    public static string Clean(string message, ChatDeployment deployment)
    {
        if (deployment.ApiKey?.Reveal() is { Length: >= 4 } key)
        {
            message = message.Replace(key, "[redacted]", StringComparison.Ordinal);
        }

        var builder = new StringBuilder(Math.Min(message.Length, MaxMessageLength + 1));
        var space = false;
        foreach (var c in message)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                space = builder.Length > 0;
                continue;
            }

            if (space)
            {
                builder.Append(' ');
                space = false;
            }

            builder.Append(c);
        }

        if (builder.Length > MaxMessageLength)
        {
            builder.Length = MaxMessageLength - 1;
            builder.Append('…');
        }

        return builder.ToString();
    }

    private static async Task<byte[]> ReadPrefixAsync(HttpContent content, int limit, CancellationToken cancellationToken)
    {
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[limit];
            var length = 0;
            int read;
            while (length < limit && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
            {
                length += read;
            }

            return buffer[..length];
        }
    }
}
