using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace SmartHub.CoreService.Apis;

/// <summary>Stable ProblemDetails <c>type</c> URIs of CoreService's answers, and helpers to build them.</summary>
public static class CoreProblems
{
    private const string Base = "https://smarthub.local/problems/";

    public const string Validation = Base + "validation";
    public const string UnknownUser = Base + "unknown-user";
    public const string NotFound = Base + "not-found";
    public const string InsufficientCredits = Base + "insufficient-credits";
    public const string MonthlyCapExceeded = Base + "monthly-cap-exceeded";
    public const string IdempotencyConflict = Base + "idempotency-conflict";
    public const string ReservationSettled = Base + "reservation-settled";
    public const string UnknownApiKey = Base + "unknown-api-key";
    public const string ApiKeyRevoked = Base + "api-key-revoked";
    public const string SessionRequired = Base + "session-required";

    public static ProblemHttpResult Problem(int status, string type, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(Details(status, type, title, detail, extensions));

    /// <summary>The body of <see cref="Problem"/>, for answers that carry problems inside (the credits batch).</summary>
    public static ProblemDetails Details(int status, string type, string title, string detail, IDictionary<string, object?>? extensions = null)
    {
        var problem = new ProblemDetails { Status = status, Type = type, Title = title, Detail = detail };
        foreach (var (key, value) in extensions ?? new Dictionary<string, object?>())
        {
            problem.Extensions[key] = value;
        }

        return problem;
    }

    /// <summary>The body of <see cref="Invalid(Dictionary{string, string[]})"/>, with the same members.</summary>
    public static ProblemDetails InvalidDetails(Dictionary<string, string[]> errors) =>
        Details(StatusCodes.Status400BadRequest, Validation, "The request is invalid", "One or more fields are invalid.", new Dictionary<string, object?> { ["errors"] = errors });

    public static ValidationProblem Invalid(Dictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, title: "The request is invalid", type: Validation);

    public static ValidationProblem Invalid(string field, string message) => Invalid(new() { [field] = [message] });

    public static ProblemHttpResult UnknownUserProblem(Guid userId) => TypedResults.Problem(UnknownUserDetails(userId));

    public static ProblemDetails UnknownUserDetails(Guid userId) =>
        Details(StatusCodes.Status404NotFound, UnknownUser, "Unknown user", $"No user {userId}.");
}

/// <summary>Reads a JSON body strictly: malformed JSON, a wrong type or an unknown member is a 400 that says which.</summary>
public static class JsonBody
{
    private static readonly JsonSerializerOptions s_strict = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
    };

    public static async Task<(T? Value, ValidationProblem? Problem)> ReadAsync<T>(HttpRequest request, string shape, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.HasJsonContentType())
        {
            return (null, CoreProblems.Invalid("body", $"A JSON body {shape} is required (Content-Type: application/json)."));
        }

        try
        {
            var value = await request.ReadFromJsonAsync<T>(s_strict, cancellationToken);
            return value is null ? (null, CoreProblems.Invalid("body", $"A JSON body {shape} is required.")) : (value, null);
        }
        catch (JsonException ex)
        {
            var where = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            return (null, CoreProblems.Invalid(where, $"The body is not a valid {shape}: {Describe(ex)}"));
        }
    }

    // JsonException messages name the .NET type ("...could not be converted to System.Int64"); keep the useful part only.
    private static string Describe(JsonException ex) =>
        ex.Message.Contains("could not be mapped", StringComparison.Ordinal) ? "it has a member this endpoint does not know."
        : ex.Message.Contains("could not be converted", StringComparison.Ordinal) ? "a value has the wrong type or is out of range."
        : "it is not well-formed JSON.";
}
