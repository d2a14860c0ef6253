using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using SmartHub.McpServer.Providers;

namespace SmartHub.UnitTests.Providers;

/// <summary>Deployments, calls and stream helpers for the provider tests (which run against the fake servers over HTTP).</summary>
internal static class ProviderTestKit
{
    /// <summary>Every await on the network is bounded: a hung test fails instead of hanging the run.</summary>
    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(20);

    public static ChatDeployment Deployment(string type, string baseUrl, string? key, string provider = "test-main", string model = "fake-model",
        string? apiKeyHeader = null, string? query = null) => new()
    {
        Provider = provider,
        Type = type,
        Model = "hub-" + model,
        UpstreamModel = model,
        BaseUrl = new Uri(baseUrl.EndsWith('/') ? baseUrl : baseUrl + "/"),
        ApiKey = key is null ? null : new ProviderSecret(key),
        ApiKeyHeader = apiKeyHeader,
        Query = query,
    };

    public static ChatCall Call(ChatDeployment deployment, IReadOnlyList<ChatMessage> messages, int maxTokens = 256, Func<ChatRequest, ChatRequest>? with = null)
    {
        var request = new ChatRequest(deployment.Model, messages);
        return new ChatCall(with is null ? request : with(request), deployment, maxTokens);
    }

    public static ChatCall Ask(ChatDeployment deployment, string question, int maxTokens = 256, Func<ChatRequest, ChatRequest>? with = null) =>
        Call(deployment, [new ChatMessage(ChatMessage.User, question)], maxTokens, with);

    public static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    public static async Task<List<ChatDelta>> CollectAsync(IAsyncEnumerable<ChatDelta> stream, CancellationToken cancellationToken = default)
    {
        var deltas = new List<ChatDelta>();
        await foreach (var delta in stream.WithCancellation(cancellationToken))
        {
            deltas.Add(delta);
        }

        return deltas;
    }

    /// <summary>Reads until the stream fails; the deltas before the failure and the failure.</summary>
    public static async Task<(List<ChatDelta> Deltas, Exception? Error)> CollectUntilErrorAsync(IAsyncEnumerable<ChatDelta> stream)
    {
        var deltas = new List<ChatDelta>();
        try
        {
            await foreach (var delta in stream)
            {
                deltas.Add(delta);
            }

            return (deltas, null);
        }
        catch (Exception exception)
        {
            return (deltas, exception);
        }
    }

    /// <summary>The tool calls of a stream put together: (id, name, arguments) per index.</summary>
    public static List<(string? Id, string? Name, string Arguments)> JoinToolCalls(IEnumerable<ChatDelta> deltas)
    {
        var calls = new SortedDictionary<int, (string? Id, string? Name, string Arguments)>();
        foreach (var delta in deltas)
        {
            if (delta.ToolCalls is not { } fragments)
            {
                continue;
            }

            foreach (var fragment in fragments.EnumerateArray())
            {
                var index = fragment.GetProperty("index").GetInt32();
                var call = calls.TryGetValue(index, out var existing) ? existing : (null, null, string.Empty);
                if (fragment.TryGetProperty("id", out var id))
                {
                    call.Id = id.GetString();
                }

                if (fragment.TryGetProperty("function", out var function))
                {
                    if (function.TryGetProperty("name", out var name))
                    {
                        call.Name = name.GetString();
                    }

                    if (function.TryGetProperty("arguments", out var arguments))
                    {
                        call.Arguments += arguments.GetString();
                    }
                }

                calls[index] = call;
            }
        }

        return [.. calls.Values];
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public static HttpClient Client() => new(ProviderExtensions.CreateHttpHandler()) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };

    /// <summary>A clock that stands still (for Retry-After dates).</summary>
    public sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    public static void AssertNoSecret(Exception exception, string key)
    {
        Assert.DoesNotContain(key, exception.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(key[..^2], exception.ToString(), StringComparison.Ordinal);
    }
}
