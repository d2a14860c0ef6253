using System.Globalization;
using SmartHub.McpServer.Providers;

namespace SmartHub.McpServer.Tokens;

/// <summary>
/// SmartHub's own tokenizer, written by hand because no tokenizer package restores here (Microsoft.ML.Tokenizers,
/// SharpToken and TiktokenSharp are all missing from the registry). It follows the shape of OpenAI's cl100k
/// pre-tokenizer, without its learned merges:
/// <list type="bullet">
/// <item>a run of letters with at most one leading space is one token per 6 characters (most English words are one
/// token in cl100k too); letters outside Latin, Greek and Cyrillic (CJK, ...) are one token each;</item>
/// <item>digits go in groups of at most 3, as in cl100k;</item>
/// <item>a run of other symbols with at most one leading space is one token per 2 characters;</item>
/// <item>a run of whitespace is one token (a run of newlines too).</item>
/// </list>
/// It is exact for the mock provider, which produces its answers as these very tokens (one streamed chunk per token),
/// and an estimate, typically within 10-20% of cl100k on English text, where the hub has to count itself: a prompt's
/// reservation, and an upstream that reports no usage. Messages add OpenAI's documented overhead: 3 tokens per message,
/// 1 for a name, and 3 that prime the reply.
/// </summary>
public static class TokenCounter
{
    public const int PerMessage = 3;
    public const int PerName = 1;
    public const int ReplyPriming = 3;

    public static int Count(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        var count = 0;
        foreach (var _ in new TokenEnumerator(text))
        {
            count++;
        }

        return count;
    }

    /// <summary>The tokens of <paramref name="text"/> as ranges, in order; concatenated they are the text.</summary>
    public static TokenEnumerator Split(string text) => new(text ?? string.Empty);

    /// <summary>Prompt tokens of a conversation: each message's role, name and content, with OpenAI's per-message overhead.</summary>
    public static int CountPrompt(IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var total = ReplyPriming;
        foreach (var message in messages)
        {
            total += PerMessage + Count(message.Role) + Count(message.Content);
            if (message.Name is not null)
            {
                total += PerName + Count(message.Name);
            }

            if (message.ToolCalls is { } calls)
            {
                total += Count(calls.GetRawText());
            }

            if (message.ToolCallId is not null)
            {
                total += Count(message.ToolCallId);
            }
        }

        return total;
    }

    /// <summary>Tokens of tool definitions sent with a request (their JSON, as providers count them roughly).</summary>
    public static int CountTools(System.Text.Json.JsonElement? tools) => tools is { } value ? Count(value.GetRawText()) : 0;

    public struct TokenEnumerator(string text)
    {
        private int _next;

        public Range Current { get; private set; }

        public readonly TokenEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            var start = _next;
            if (start >= text.Length)
            {
                return false;
            }

            var i = start;
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                // A single space before a word or symbol belongs to it; longer runs of whitespace are one token.
                if (c == ' ' && i + 1 < text.Length && !char.IsWhiteSpace(text[i + 1]))
                {
                    i++;
                    c = text[i];
                }
                else
                {
                    while (i < text.Length && char.IsWhiteSpace(text[i]) && !(text[i] == ' ' && i + 1 < text.Length && !char.IsWhiteSpace(text[i + 1]) && i > start))
                    {
                        i++;
                    }

                    return Emit(start, i);
                }
            }

            if (IsWideLetter(c))
            {
                return Emit(start, char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? i + 2 : i + 1);
            }

            if (char.IsLetter(c))
            {
                var end = i;
                while (end < text.Length && char.IsLetter(text[end]) && !IsWideLetter(text[end]) && end - i < 6)
                {
                    end++;
                }

                return Emit(start, end);
            }

            if (char.IsDigit(c))
            {
                var end = i;
                while (end < text.Length && char.IsDigit(text[end]) && end - i < 3)
                {
                    end++;
                }

                return Emit(start, end);
            }

            var symbolEnd = i;
            while (symbolEnd < text.Length && symbolEnd - start < 2 && IsSymbol(text[symbolEnd]))
            {
                symbolEnd++;
            }

            return Emit(start, Math.Max(symbolEnd, i + 1));
        }

        private bool Emit(int start, int end)
        {
            Current = start..end;
            _next = end;
            return true;
        }

        private static bool IsSymbol(char c) => !char.IsWhiteSpace(c) && !char.IsLetterOrDigit(c);

        /// <summary>Letters of scripts that BPE vocabularies hold as single characters or less (CJK, Thai, ...).</summary>
        private static bool IsWideLetter(char c) =>
            c > '\u04FF' && char.GetUnicodeCategory(c) is UnicodeCategory.OtherLetter or UnicodeCategory.ModifierLetter
            || char.IsSurrogate(c);
    }
}
