namespace SmartHub.Gateway.Edge;

/// <summary>
/// Headers that carry identity between SmartHub's own components (or that other proxies use for it) and must never be
/// accepted from a client: the gateway removes them from every incoming request before authentication and proxying,
/// so a forged <c>X-Internal-Token</c> or <c>X-User-Roles: admin</c> reaches no one. <c>Authorization</c> and
/// <c>X-API-Key</c> are kept: the services validate the caller's identity themselves too.
/// </summary>
internal static class InternalHeaders
{
    /// <summary>Removed when the name starts with one of these (case-insensitive).</summary>
    public static readonly string[] Prefixes = ["X-SmartHub-", "X-Internal-", "X-User-", "X-Auth-Request-"];

    /// <summary>Removed by exact name (case-insensitive).</summary>
    public static readonly string[] Names =
    [
        "X-Forwarded-User",
        "X-Forwarded-Email",
        "X-Forwarded-Groups",
        "X-Forwarded-Preferred-Username",
        "X-Remote-User",
        "Remote-User",
        "X-Authenticated-User",
        "X-Api-Key-Id",
    ];

    public static bool IsInternal(string name)
    {
        // Every name above starts with X or R: most headers are dismissed by their first character.
        if (name.Length == 0 || (name[0] | 0x20) is not ('x' or 'r'))
        {
            return false;
        }

        foreach (var prefix in Prefixes)
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        foreach (var exact in Names)
        {
            if (string.Equals(name, exact, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Removes the internal headers; returns how many names were removed.</summary>
    public static int Strip(IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);

        List<string>? found = null;
        foreach (var header in headers)
        {
            if (IsInternal(header.Key))
            {
                (found ??= []).Add(header.Key);
            }
        }

        if (found is null)
        {
            return 0;
        }

        foreach (var name in found)
        {
            headers.Remove(name);
        }

        return found.Count;
    }
}
