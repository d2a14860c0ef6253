using System.Collections.Concurrent;
using System.Globalization;

namespace SmartHub.ServiceDefaults.Metrics;

/// <summary>
/// Renders a measurement's tags as the inside of a Prometheus label set, <c>a="x",b="y"</c>: label names sanitized
/// (<see cref="PrometheusNames.LabelName"/>) and sorted, values escaped (<c>\</c>, <c>"</c>, newline) and cut at
/// <see cref="MaxValueLength"/> characters, tags without a value left out (Prometheus treats an empty label as no
/// label, so <c>a=""</c> would be a duplicate of the series without it). This text is the series' key, so the same
/// tags in any order, or an <c>int</c> and a <c>long</c> 200, are one series. The text is written into a per-thread
/// buffer: recording a measurement allocates nothing once its series exists.
/// </summary>
internal static class LabelText
{
    /// <summary>Longer values are cut (a bound on the memory a series key can take).</summary>
    public const int MaxValueLength = 256;

    [ThreadStatic]
    private static Scratch? t_scratch;

    /// <summary>The label text of <paramref name="tags"/>, valid until the next call on this thread.</summary>
    public static ReadOnlySpan<char> Render(ReadOnlySpan<KeyValuePair<string, object?>> tags, LabelNames names)
    {
        if (tags.IsEmpty)
        {
            return [];
        }

        var scratch = t_scratch ??= new Scratch();
        scratch.Reset(tags.Length);
        var labelNames = scratch.Names;
        var order = scratch.Order;
        for (var i = 0; i < tags.Length; i++)
        {
            labelNames[i] = names.Get(tags[i].Key);
            order[i] = i;
        }

        // Insertion sort: a handful of tags, usually already in order.
        for (var i = 1; i < tags.Length; i++)
        {
            var current = order[i];
            var j = i - 1;
            while (j >= 0 && string.CompareOrdinal(labelNames[order[j]], labelNames[current]) > 0)
            {
                order[j + 1] = order[j];
                j--;
            }

            order[j + 1] = current;
        }

        string? previous = null;
        for (var k = 0; k < tags.Length; k++)
        {
            var index = order[k];
            var name = labelNames[index];
            if (string.Equals(name, previous, StringComparison.Ordinal))
            {
                continue; // two tag keys that sanitize to one label name ("a.b", "a_b"): the first is kept
            }

            previous = name;
            scratch.AppendLabel(name, tags[index].Value);
        }

        return scratch.Written;
    }

    /// <summary>Appends <paramref name="value"/> escaped for a label value or HELP text to <paramref name="builder"/>.</summary>
    public static void AppendEscaped(System.Text.StringBuilder builder, string value, bool escapeQuotes)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(value);
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    builder.Append("\\\\");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                case '"' when escapeQuotes:
                    builder.Append("\\\"");
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }
    }

    private sealed class Scratch
    {
        private char[] _chars = new char[512];
        private int _length;

        public string[] Names { get; private set; } = new string[16];

        public int[] Order { get; private set; } = new int[16];

        public ReadOnlySpan<char> Written => _chars.AsSpan(0, _length);

        public void Reset(int tags)
        {
            _length = 0;
            if (Names.Length < tags)
            {
                Names = new string[Math.Max(tags, Names.Length * 2)];
                Order = new int[Names.Length];
            }
        }

        public void AppendLabel(string name, object? value)
        {
            var start = _length;
            if (start > 0)
            {
                Append(',');
            }

            Append(name);
            Append('=');
            Append('"');
            var valueStart = _length;
            AppendValue(value);
            if (_length == valueStart)
            {
                _length = start; // no value: no label
                return;
            }

            Append('"');
        }

        private void AppendValue(object? value)
        {
            switch (value)
            {
                case null:
                    return;
                case string text:
                    AppendEscaped(text);
                    return;
                case bool flag:
                    Append(flag ? "true" : "false");
                    return;
                case ISpanFormattable formattable:
                    AppendFormatted(formattable);
                    return;
                default:
                    AppendEscaped(Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty);
                    return;
            }
        }

        private void AppendFormatted(ISpanFormattable value)
        {
            int written;
            while (!value.TryFormat(_chars.AsSpan(_length), out written, default, CultureInfo.InvariantCulture))
            {
                Grow(_chars.Length);
            }

            ReadOnlySpan<char> text = _chars.AsSpan(_length, written);
            if (text.ContainsAny('\\', '"', '\n') || written > MaxValueLength)
            {
                AppendEscaped(value.ToString(null, CultureInfo.InvariantCulture)); // rare: a type whose text needs escaping
                return;
            }

            _length += written;
        }

        private void AppendEscaped(string text)
        {
            var value = text.Length > MaxValueLength ? text.AsSpan(0, MaxValueLength) : text.AsSpan();
            if (value.IndexOfAny('\\', '"', '\n') < 0)
            {
                Append(value); // the usual case: nothing to escape, one copy
                return;
            }

            foreach (var c in value)
            {
                switch (c)
                {
                    case '\\':
                        Append('\\');
                        Append('\\');
                        break;
                    case '\n':
                        Append('\\');
                        Append('n');
                        break;
                    case '"':
                        Append('\\');
                        Append('"');
                        break;
                    default:
                        Append(c);
                        break;
                }
            }
        }

        private void Append(ReadOnlySpan<char> text)
        {
            if (_length + text.Length > _chars.Length)
            {
                Grow(text.Length);
            }

            text.CopyTo(_chars.AsSpan(_length));
            _length += text.Length;
        }

        private void Append(char c)
        {
            if (_length == _chars.Length)
            {
                Grow(1);
            }

            _chars[_length++] = c;
        }

        private void Grow(int needed)
        {
            var bigger = new char[Math.Max(_chars.Length * 2, _length + needed)];
            _chars.AsSpan(0, _length).CopyTo(bigger);
            _chars = bigger;
        }
    }
}

/// <summary>
/// Tag key → label name, per metric: tag keys are nearly always the same string instances (constants), so a
/// comparison by reference over a short list finds them; other keys go through a shared, bounded dictionary.
/// </summary>
internal sealed class LabelNames
{
    private const int MaxEntries = 32;
    private const int MaxShared = 4096;
    private static readonly ConcurrentDictionary<string, string> s_shared = new(StringComparer.Ordinal);

    private readonly Lock _lock = new();
    private volatile KeyValuePair<string, string>[] _entries = [];

    public string Get(string key)
    {
        foreach (var entry in _entries)
        {
            if (ReferenceEquals(entry.Key, key))
            {
                return entry.Value;
            }
        }

        return Add(key);
    }

    private string Add(string key)
    {
        if (!s_shared.TryGetValue(key, out var name))
        {
            name = PrometheusNames.LabelName(key);
            if (s_shared.Count < MaxShared)
            {
                name = s_shared.GetOrAdd(key, name);
            }
        }

        lock (_lock)
        {
            if (_entries.Length < MaxEntries)
            {
                _entries = [.. _entries, new(key, name)];
            }
        }

        return name;
    }
}
