using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using SmartHub.AuthService.Apis;

namespace SmartHub.AuthService.Http;

/// <summary>
/// Every request body of AuthService is small JSON: anything over the limit answers 413 ProblemDetails before an
/// endpoint sees it. With a Content-Length the check is immediate; a chunked body is read into memory up to the limit
/// (16 KB, so that is cheap) and refused once it goes over.
/// </summary>
public static class RequestBodyLimit
{
    public const int DefaultMaxBytes = 16 * 1024;

    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app, int maxBytes = DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Use(async (context, next) =>
        {
            var request = context.Request;
            if (request.ContentLength > maxBytes)
            {
                await WriteTooLargeAsync(context, maxBytes);
                return;
            }

            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = maxBytes;
            }

            if (request.ContentLength is null && HasBody(request))
            {
                var buffer = new MemoryStream();
                var chunk = new byte[4096];
                int read;
                try
                {
                    while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
                    {
                        if (buffer.Length + read > maxBytes)
                        {
                            await WriteTooLargeAsync(context, maxBytes);
                            return;
                        }

                        buffer.Write(chunk, 0, read);
                    }
                }
                catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    await WriteTooLargeAsync(context, maxBytes);
                    return;
                }

                buffer.Position = 0;
                request.Body = buffer;
                request.ContentLength = buffer.Length;
            }

            await next(context);
        });
    }

    private static bool HasBody(HttpRequest request) =>
        request.Headers.TransferEncoding.Count > 0 || (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HttpMethods.IsDelete(request.Method));

    private static async Task WriteTooLargeAsync(HttpContext context, int maxBytes)
    {
        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        context.Response.Headers.Connection = "close";
        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status413PayloadTooLarge,
            Type = AuthProblems.PayloadTooLarge,
            Title = "Request body too large",
            Detail = $"Request bodies of this service are limited to {maxBytes / 1024} KB.",
        };
        var service = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        if (!await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            await context.Response.WriteAsJsonAsync(problem, (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json");
        }
    }
}
