namespace SmartHub.Gateway.Edge;

/// <summary>
/// Refuses request paths that are not in canonical form — empty segments (<c>//</c>), dot segments, encoded slashes or
/// backslashes — with 400. The route table's policies match on paths: <c>/api/v1//admin/x</c> would otherwise miss
/// the admin row and fall through to a less strict catch-all, and downstream routers need not agree with ours on how
/// such a path reads. SmartHub's APIs never need these forms.
/// </summary>
internal static class CanonicalPath
{
    public static Task RejectAsync(HttpContext context) =>
        GatewayErrors.WriteAsync(context, StatusCodes.Status400BadRequest, "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "Bad request path", "The request path is not in canonical form (empty or dot segments, or encoded slashes).", "non_canonical_path");

    internal static bool IsCanonical(string path)
    {
        if (path.Contains("//", StringComparison.Ordinal) || path.Contains('\\', StringComparison.Ordinal)
            || path.Contains("%2F", StringComparison.OrdinalIgnoreCase) || path.Contains("%5C", StringComparison.OrdinalIgnoreCase)
            || path.Contains("%2E", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Dot segments, without splitting the path into strings.
        foreach (var range in path.AsSpan().Split('/'))
        {
            var segment = path.AsSpan(range);
            if (segment is "." or "..")
            {
                return false;
            }
        }

        return true;
    }
}
