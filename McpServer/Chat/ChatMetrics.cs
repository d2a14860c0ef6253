using System.Diagnostics;
using System.Diagnostics.Metrics;
using SmartHub.McpServer.Providers;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.McpServer.Chat;

/// <summary>
/// The chat pipeline's instruments, on the service meter ("SmartHub.Mcp"). Requests, tokens, credits and durations are
/// recorded where a request ends, beside its usage record (<c>ChatService.Finish</c>), so dashboards and usage agree;
/// a consensus request counts once, as model "consensus". Tags stay low-cardinality: the model only when the catalog
/// knows it (else "unknown"), the deployment that answered (<c>provider/model</c>, from configuration), the outcome and
/// status; never a user, key or prompt. Provider latency and failures per attempt are <see cref="Routing.RoutingMetrics"/>'s.
/// </summary>
public sealed class ChatMetrics
{
    public const string ModelTag = "smarthub.model";
    public const string ProviderTag = "smarthub.provider";
    public const string OutcomeTag = "smarthub.outcome";
    public const string StatusTag = "http.response.status_code";
    public const string CacheTag = "smarthub.cache";
    public const string TokenTypeTag = "smarthub.token.type";
    public const string CacheResultTag = "smarthub.cache.result";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _credits;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Counter<long> _cacheLookups;

    public ChatMetrics(ServiceTelemetry telemetry)
        : this(telemetry?.Meter ?? throw new ArgumentNullException(nameof(telemetry)))
    {
    }

    public ChatMetrics(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        _requests = meter.CreateCounter<long>(
            "smarthub.mcp.chat.requests", "{request}", "Chat completion requests answered, by model, provider (deployment), outcome, status and cache.");
        _tokens = meter.CreateCounter<long>(
            "smarthub.mcp.chat.tokens", "{token}", "Tokens of answered chat requests, by model, provider and type (prompt, completion).");
        _credits = meter.CreateCounter<long>(
            "smarthub.mcp.chat.credits", "{credit}", "Credits charged for chat requests, by model and provider.");
        _duration = meter.CreateHistogram<double>(
            "smarthub.mcp.chat.duration", "s", "Time from a chat request's arrival to its end (the whole stream when streamed), by model, provider and outcome.");
        _timeToFirstToken = meter.CreateHistogram<double>(
            "smarthub.mcp.chat.time_to_first_token", "s", "Time from a chat request's arrival to the first token of its answer, by model and provider.");
        _cacheLookups = meter.CreateCounter<long>(
            "smarthub.mcp.cache.lookups", "{lookup}", "Answer cache lookups by result (hit, miss, error: Redis slow or down, the cache skipped).");
    }

    /// <summary>The model tag: the id when <paramref name="catalog"/> knows it, "consensus" for consensus ids, else "unknown".</summary>
    public static string ModelTagFor(string model, ModelCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(catalog);
        if (catalog.TryGet(model, out _))
        {
            return model;
        }

        return Consensus.IsConsensus(model) ? "consensus" : "unknown";
    }

    /// <summary>"ok" (2xx), "client_closed" (499), "client_error" (4xx: refused, no credits, unknown model), "server_error" (5xx: upstream or dependency failures).</summary>
    public static string OutcomeFor(int status) => status switch
    {
        < 400 => "ok",
        ChatService.StatusClientClosed => "client_closed",
        < 500 => "client_error",
        _ => "server_error",
    };

    /// <summary>One finished request.</summary>
    public void RequestFinished(string model, string provider, ChatOutcome outcome, TimeSpan duration, TimeSpan? timeToFirstToken)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var outcomeName = OutcomeFor(outcome.Status);
        var requestTags = new TagList
        {
            { ModelTag, model },
            { ProviderTag, provider },
            { OutcomeTag, outcomeName },
            { StatusTag, outcome.Status },
            { CacheTag, outcome.CacheHit ? "hit" : "miss" },
        };
        _requests.Add(1, requestTags);
        _duration.Record(duration.TotalSeconds, new TagList { { ModelTag, model }, { ProviderTag, provider }, { OutcomeTag, outcomeName } });

        var modelTags = new TagList { { ModelTag, model }, { ProviderTag, provider } };
        if (timeToFirstToken is { } first)
        {
            _timeToFirstToken.Record(first.TotalSeconds, modelTags);
        }

        if (outcome.Credits > 0)
        {
            _credits.Add(outcome.Credits, modelTags);
        }

        if (outcome.Usage.PromptTokens > 0)
        {
            _tokens.Add(outcome.Usage.PromptTokens, new TagList { { ModelTag, model }, { ProviderTag, provider }, { TokenTypeTag, "prompt" } });
        }

        if (outcome.Usage.CompletionTokens > 0)
        {
            _tokens.Add(outcome.Usage.CompletionTokens, new TagList { { ModelTag, model }, { ProviderTag, provider }, { TokenTypeTag, "completion" } });
        }
    }

    /// <summary>One answer-cache lookup: "hit", "miss" or "error".</summary>
    public void CacheLookup(string result) => _cacheLookups.Add(1, new KeyValuePair<string, object?>(CacheResultTag, result));
}
