using System.Buffers;
using System.Globalization;
using System.Text.Json.Serialization;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using SmartHub.McpServer.Chat;
using SmartHub.McpServer.Providers;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.McpServer.Apis;

/// <summary>
/// OpenAI's chat API: <c>POST /v1/chat/completions</c> (JSON, or Server-Sent Events with <c>stream: true</c>) and
/// <c>GET /v1/models</c>, for any OpenAI SDK. Permission <c>chat:use</c>. Response headers: <c>X-SmartHub-Provider</c>
/// (the deployment that answered), <c>X-Cache</c> (HIT or MISS), <c>X-SmartHub-Credits</c> (charged; not on streams,
/// whose cost is known only at the end). A request opts out of the cache with <c>Cache-Control: no-cache</c> (or
/// <c>no-store</c>) or <c>X-SmartHub-Cache: bypass</c>.
/// </summary>
public static class ChatCompletionsApi
{
    public const string ProviderHeader = "X-SmartHub-Provider";
    public const string CacheHeader = "X-Cache";
    public const string CreditsHeader = "X-SmartHub-Credits";
    public const string CacheControlHeader = "X-SmartHub-Cache";

    /// <summary>The largest request body (8 MiB, as the gateway allows on /v1).</summary>
    public const long MaxRequestBytes = 8 * 1024 * 1024;

    public static IEndpointRouteBuilder MapChatCompletionsApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup(OpenAiErrorExtensions.PathPrefix).WithTags("OpenAI").RequirePermission(Permissions.ChatUse);

        v1.MapPost("/chat/completions", CreateChatCompletionAsync)
            .WithName("CreateChatCompletion")
            .WithSummary("OpenAI-compatible chat completion (stream: true answers with Server-Sent Events).");

        v1.MapGet("/models", ListModels)
            .WithName("ListModels")
            .WithSummary("The configured models (id, owned_by = the provider of its first deployment).");

        v1.MapGet("/models/{**model}", GetModel)
            .WithName("GetModel")
            .WithSummary("One configured model.");

        return app;
    }

    public static async Task CreateChatCompletionAsync(HttpContext context, ChatService chat)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(chat);
        var cancellationToken = context.RequestAborted;
        ChatRequest request;
        try
        {
            request = await ReadRequestAsync(context, cancellationToken);
        }
        catch (ChatRequestException invalid)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, invalid.Error, null);
            return;
        }
        catch (BadHttpRequestException tooLarge) when (tooLarge.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await WriteErrorAsync(context, StatusCodes.Status413PayloadTooLarge,
                OpenAiError.Create($"The request body is larger than {MaxRequestBytes / (1024 * 1024)} MiB.", "invalid_request_error", "request_too_large"), null);
            return;
        }

        var options = new ChatOptions(NoCache: WantsNoCache(context.Request));
        if (request.Stream)
        {
            var writer = new SseChatStreamWriter(context.Response, request.IncludeUsage);
            var failure = await chat.StreamAsync(request, context.User, options, writer, cancellationToken);
            if (failure is not null)
            {
                await WriteErrorAsync(context, failure.Status, failure.Error!, failure.RetryAfter);
            }

            return;
        }

        var outcome = await chat.CompleteAsync(request, context.User, options, cancellationToken);
        if (!outcome.Succeeded)
        {
            await WriteErrorAsync(context, outcome.Status, outcome.Error!, outcome.RetryAfter, outcome.Provider);
            return;
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        response.Headers[ProviderHeader] = outcome.Provider;
        response.Headers[CacheHeader] = outcome.CacheHit ? "HIT" : "MISS";
        response.Headers[CreditsHeader] = outcome.Credits.ToString(CultureInfo.InvariantCulture);
        ChatJson.WriteCompletion(response.BodyWriter, outcome, request.Model);
        await response.BodyWriter.FlushAsync(cancellationToken);
    }

    public static IResult ListModels(ModelCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return TypedResults.Ok(new ModelList("list", catalog.Models.Select(m => new ModelEntry(m.Model, "model", 0, m.Provider)).ToList()));
    }

    public static IResult GetModel(string model, ModelCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.TryGet(model, out var deployments)
            ? TypedResults.Ok(new ModelEntry(model, "model", 0, deployments[0].Provider))
            : TypedResults.NotFound(OpenAiError.Create($"The model '{model}' does not exist or you do not have access to it.", "invalid_request_error", "model_not_found", "model"));
    }

    private static async Task<ChatRequest> ReadRequestAsync(HttpContext context, CancellationToken cancellationToken)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxRequestBytes;
        }

        if (context.Request.ContentLength > MaxRequestBytes)
        {
            throw new BadHttpRequestException("too large", StatusCodes.Status413PayloadTooLarge);
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, default, cancellationToken);
        }
        catch (JsonException exception)
        {
            throw new ChatRequestException(OpenAiError.Create(
                $"The request body is not valid JSON ({exception.Message.Split('.')[0]}).", "invalid_request_error", "invalid_json"));
        }

        using (document)
        {
            return ChatRequestParser.Parse(document.RootElement);
        }
    }

    private static bool WantsNoCache(HttpRequest request)
    {
        foreach (var value in request.Headers.CacheControl)
        {
            if (value is not null && (value.Contains("no-cache", StringComparison.OrdinalIgnoreCase) || value.Contains("no-store", StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return string.Equals(request.Headers[CacheControlHeader], "bypass", StringComparison.OrdinalIgnoreCase);
    }

    private static async Task WriteErrorAsync(HttpContext context, int status, OpenAiError error, TimeSpan? retryAfter, string? provider = null)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            return;
        }

        response.StatusCode = status;
        if (retryAfter is { } wait)
        {
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
        else if (status == StatusCodes.Status503ServiceUnavailable)
        {
            response.Headers.RetryAfter = "1";
        }

        if (provider is not null)
        {
            response.Headers[ProviderHeader] = provider;
        }

        await response.WriteAsJsonAsync(error, context.RequestAborted);
    }
}

public sealed record ModelList([property: JsonPropertyName("object")] string Kind, IReadOnlyList<ModelEntry> Data);

public sealed record ModelEntry(string Id, [property: JsonPropertyName("object")] string Kind, long Created, [property: JsonPropertyName("owned_by")] string OwnedBy);

/// <summary>Writes a streamed answer as OpenAI's Server-Sent Events: <c>data: {chunk}</c> lines, <c>data: [DONE]</c> last.</summary>
internal sealed class SseChatStreamWriter(HttpResponse response, bool includeUsage) : IChatStreamWriter
{
    private static readonly byte[] s_data = "data: "u8.ToArray();
    private static readonly byte[] s_end = "\n\n"u8.ToArray();
    private static readonly byte[] s_done = "data: [DONE]\n\n"u8.ToArray();

    private ChatStreamStart? _start;

    private PipeWriter Body => response.BodyWriter;

    public async ValueTask BeginAsync(ChatStreamStart start, CancellationToken cancellationToken)
    {
        _start = start;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        response.Headers[ChatCompletionsApi.ProviderHeader] = start.Provider;
        response.Headers[ChatCompletionsApi.CacheHeader] = start.CacheHit ? "HIT" : "MISS";
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        Body.Write(s_data);
        ChatJson.WriteChunk(Body, start, null, opener: true, null, includeUsage);
        Body.Write(s_end);
        await Body.FlushAsync(cancellationToken);
    }

    public async ValueTask WriteAsync(ChatDelta delta, CancellationToken cancellationToken)
    {
        Body.Write(s_data);
        ChatJson.WriteChunk(Body, _start!, delta, opener: false, null, includeUsage);
        Body.Write(s_end);
        await Body.FlushAsync(cancellationToken);
    }

    public async ValueTask EndAsync(string finishReason, TokenUsage usage, CancellationToken cancellationToken)
    {
        Body.Write(s_data);
        ChatJson.WriteChunk(Body, _start!, null, opener: false, finishReason, includeUsage);
        Body.Write(s_end);
        if (includeUsage)
        {
            Body.Write(s_data);
            ChatJson.WriteUsageChunk(Body, _start!, usage);
            Body.Write(s_end);
        }

        Body.Write(s_done);
        await Body.FlushAsync(cancellationToken);
    }

    public async ValueTask FailAsync(OpenAiError error, CancellationToken cancellationToken)
    {
        Body.Write(s_data);
        await Body.FlushAsync(cancellationToken);
        await JsonSerializer.SerializeAsync(response.Body, error, cancellationToken: cancellationToken);
        Body.Write(s_end);
        await Body.FlushAsync(cancellationToken);
    }
}
