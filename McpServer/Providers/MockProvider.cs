using System.ComponentModel.DataAnnotations;
using System.Runtime.CompilerServices;
using System.Text;
using SmartHub.McpServer.Tokens;

namespace SmartHub.McpServer.Providers;

/// <summary>Section <c>Mock</c>: how the built-in mock provider paces <c>mock-smart</c>.</summary>
public sealed class MockProviderOptions
{
    public const string SectionName = "Mock";

    /// <summary>Delay before <c>mock-smart</c>'s first token (a hosted model's typical time to first token).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan SmartFirstTokenDelay { get; set; } = TimeSpan.FromMilliseconds(350);

    /// <summary>Time between <c>mock-smart</c>'s tokens (50 tokens/s).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan SmartTokenInterval { get; set; } = TimeSpan.FromMilliseconds(20);
}

/// <summary>
/// The built-in provider (type <c>mock</c>, no key, no network): the demo mode, and the upstream of the benchmarks.
/// Its answer is a pure function of the conversation: the same messages always give the same text, from any model and
/// any replica (so consensus over two mock models agrees). A model whose upstream name contains "smart" is paced like a
/// hosted model (<see cref="MockProviderOptions"/>); any other answers at once. Token counts are exact: the prompt is
/// counted with <see cref="TokenCounter"/>, and the answer is produced as its tokens, one streamed chunk each, cut at
/// the output limit (finish reason "length"). Tools are accepted and ignored.
/// </summary>
public sealed class MockProvider(MockProviderOptions options, TimeProvider timeProvider) : IChatProvider
{
    private static readonly string[] s_words =
    [
        "the", "hub", "routes", "each", "request", "to", "a", "model", "and", "counts", "every", "token", "it", "sends",
        "answers", "are", "deterministic", "so", "tests", "can", "check", "them", "credits", "usage", "is", "recorded",
        "once", "per", "call", "streaming", "works", "with", "any", "OpenAI", "client", "fallback", "keeps", "service",
        "running", "when", "provider", "fails", "cache", "serves", "repeated", "questions", "quickly", "budgets", "hold",
        "across", "replicas", "latency", "stays", "low", "under", "load", "this", "reply", "comes", "from", "SmartHub",
    ];

    public string Type => "mock";

    public Task<ChatCompletion> CompleteAsync(ChatCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var (text, finish, completionTokens) = Answer(call);
        var usage = new TokenUsage(PromptTokens(call.Request), completionTokens);
        if (!IsSmart(call.Deployment))
        {
            return Task.FromResult(new ChatCompletion(text, finish, usage));
        }

        return PacedAsync();

        async Task<ChatCompletion> PacedAsync()
        {
            var delay = options.SmartFirstTokenDelay + (options.SmartTokenInterval * Math.Max(0, completionTokens - 1));
            await Task.Delay(delay, timeProvider, cancellationToken).ConfigureAwait(false);
            return new ChatCompletion(text, finish, usage);
        }
    }

    public async IAsyncEnumerable<ChatDelta> StreamAsync(ChatCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var (text, finish, completionTokens) = Answer(call);
        var smart = IsSmart(call.Deployment);
        if (smart && options.SmartFirstTokenDelay > TimeSpan.Zero)
        {
            await Task.Delay(options.SmartFirstTokenDelay, timeProvider, cancellationToken).ConfigureAwait(false);
        }

        var first = true;
        foreach (var token in TokenCounter.Split(text))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (smart && !first && options.SmartTokenInterval > TimeSpan.Zero)
            {
                await Task.Delay(options.SmartTokenInterval, timeProvider, cancellationToken).ConfigureAwait(false);
            }

            first = false;
            yield return new ChatDelta(Content: text[token]);
        }

        yield return new ChatDelta(FinishReason: finish, Usage: new TokenUsage(PromptTokens(call.Request), completionTokens));
    }

    private static bool IsSmart(ChatDeployment deployment) => deployment.UpstreamModel.Contains("smart", StringComparison.OrdinalIgnoreCase);

    private static int PromptTokens(ChatRequest request) => TokenCounter.CountPrompt(request.Messages) + TokenCounter.CountTools(request.Tools);

    /// <summary>The answer for a conversation, cut to the call's output limit, with its finish reason and token count.</summary>
    internal static (string Text, string FinishReason, int CompletionTokens) Answer(ChatCall call)
    {
        var full = Compose(call.Request.Messages, IsSmart(call.Deployment));
        var tokens = 0;
        var end = 0;
        foreach (var token in TokenCounter.Split(full))
        {
            if (tokens == call.MaxTokens)
            {
                return (full[..end], FinishReasons.Length, tokens);
            }

            tokens++;
            end = token.End.Value;
        }

        return (full, FinishReasons.Stop, tokens);
    }

    /// <summary>
    /// "Mock answer to: &lt;the start of the last user message&gt;." followed by sentences drawn from a fixed vocabulary
    /// with a generator seeded by a stable hash (FNV-1a) of the conversation: 20-60 words, 60-160 for "smart" models.
    /// </summary>
    internal static string Compose(IReadOnlyList<ChatMessage> messages, bool smart)
    {
        var hash = 14695981039346656037UL;
        string? lastUser = null;
        foreach (var message in messages)
        {
            hash = Fnv(hash, message.Role);
            hash = Fnv(hash, message.Content ?? string.Empty);
            if (message.Role == ChatMessage.User)
            {
                lastUser = message.Content;
            }
        }

        var builder = new StringBuilder(512);
        builder.Append("Mock answer to: ");
        var quoted = 0;
        foreach (var word in (lastUser ?? string.Empty).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (quoted == 8)
            {
                builder.Append(" ...");
                break;
            }

            builder.Append(quoted == 0 ? string.Empty : " ").Append(word.Length > 24 ? word[..24] : word);
            quoted++;
        }

        if (builder[^1] is not ('.' or '?' or '!'))
        {
            builder.Append('.');
        }

        var random = new Random(unchecked((int)(hash ^ (hash >> 32))));
        var words = smart ? random.Next(60, 161) : random.Next(20, 61);
        var sentence = 0;
        for (var i = 0; i < words; i++)
        {
            var word = s_words[random.Next(s_words.Length)];
            builder.Append(' ');
            if (sentence == 0)
            {
                builder.Append(char.ToUpperInvariant(word[0])).Append(word, 1, word.Length - 1);
            }
            else
            {
                builder.Append(word);
            }

            sentence++;
            if (sentence >= 6 && (random.Next(4) == 0 || i == words - 1))
            {
                builder.Append('.');
                sentence = 0;
            }
        }

        if (sentence != 0)
        {
            builder.Append('.');
        }

        return builder.ToString();
    }

    private static ulong Fnv(ulong hash, string text)
    {
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return (hash ^ 0xFF) * 1099511628211UL;
    }
}
