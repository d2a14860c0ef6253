using System.Text.Json;

namespace SmartHub.McpServer.Mcp;

/// <summary>
/// A tool call's arguments, read strictly: a wrong type, a value out of range or an argument the tool does not know is
/// a <see cref="McpToolArgumentException"/> naming it, which the tool answers as an error result the model can act on.
/// </summary>
internal sealed class McpToolArguments
{
    private readonly IDictionary<string, JsonElement> _values;

    public McpToolArguments(IDictionary<string, JsonElement>? values, IReadOnlyCollection<string> known)
    {
        ArgumentNullException.ThrowIfNull(known);
        _values = values ?? new Dictionary<string, JsonElement>();
        foreach (var name in _values.Keys)
        {
            if (!known.Contains(name))
            {
                throw new McpToolArgumentException(
                    $"Unknown argument '{name}'. This tool takes: {string.Join(", ", known)}.");
            }
        }
    }

    /// <summary>Present and not JSON null.</summary>
    public bool Has(string name) => _values.TryGetValue(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined);

    public JsonElement? Get(string name) => Has(name) ? _values[name] : null;

    public string RequiredString(string name, int maxLength) =>
        OptionalString(name, maxLength) ?? throw new McpToolArgumentException($"Argument '{name}' is required.");

    public string? OptionalString(string name, int maxLength)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new McpToolArgumentException($"Argument '{name}' must be a string.");
        }

        var text = value.GetString()!;
        if (text.Length == 0 || text.Length > maxLength)
        {
            throw new McpToolArgumentException($"Argument '{name}' must have 1 to {maxLength} characters.");
        }

        return text;
    }

    public int? OptionalInt(string name, int min, int max)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number) || number < min || number > max)
        {
            throw new McpToolArgumentException($"Argument '{name}' must be a whole number from {min} to {max}.");
        }

        return (int)number;
    }

    public double? OptionalNumber(string name, double min, double max)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number) || number < min || number > max)
        {
            throw new McpToolArgumentException($"Argument '{name}' must be a number from {min} to {max}.");
        }

        return number;
    }

    public string? OptionalChoice(string name, IReadOnlyList<string> choices)
    {
        var text = OptionalString(name, 100);
        if (text is not null && !choices.Contains(text, StringComparer.Ordinal))
        {
            throw new McpToolArgumentException($"Argument '{name}' must be one of {string.Join(", ", choices)} (was '{text}').");
        }

        return text;
    }
}

/// <summary>A tool argument the caller got wrong; its message says which and how.</summary>
internal sealed class McpToolArgumentException(string message) : Exception(message);
