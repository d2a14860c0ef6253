// Baselines for tests/benchmarks/chat.sh, in one process with no logging providers:
//   POST /v1/chat/completions — the same request parsing, mock answer and response JSON as McpServer, and nothing else
//                               (no gateway, authentication, rate limit, credits, cache or usage record): "the mock, directly";
//   GET  /ok                  — plain Kestrel.
using System.Text.Json;
using SmartHub.McpServer.Chat;
using SmartHub.McpServer.Providers;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
var mock = new MockProvider(new MockProviderOptions(), TimeProvider.System);
var deployment = new ChatDeployment { Provider = "mock", Type = "mock", Model = "mock-fast", UpstreamModel = "mock-fast" };

app.MapGet("/ok", () => "ok");
app.MapPost("/v1/chat/completions", async (HttpContext context) =>
{
    using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
    var request = ChatRequestParser.Parse(document.RootElement);
    var completion = await mock.CompleteAsync(new ChatCall(request, deployment, request.MaxTokens ?? 4096), context.RequestAborted);
    var outcome = new ChatOutcome(200, completion, null, deployment.Name, completion.Usage!.Value, 0, false, "chatcmpl-" + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    context.Response.ContentType = "application/json";
    ChatJson.WriteCompletion(context.Response.BodyWriter, outcome, request.Model);
    await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
});

app.Run();
