using Microsoft.AspNetCore.Http.HttpResults;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.AuthService.Apis;

/// <summary>Stable ProblemDetails <c>type</c> URIs of AuthService's answers, and helpers to build them.</summary>
public static class AuthProblems
{
    private const string Base = "https://smarthub.local/problems/";

    public const string Validation = Base + "validation";
    public const string InvalidCredentials = Base + "invalid-credentials";
    public const string InvalidRefreshToken = Base + "invalid-refresh-token";
    public const string InvalidScope = Base + "invalid-scope";
    public const string UnknownRole = Base + "unknown-role";
    public const string NotFound = Base + "not-found";
    public const string LastAdmin = Base + "last-admin";
    public const string TooManyKeys = Base + "too-many-keys";
    public const string PayloadTooLarge = Base + "payload-too-large";
    public const string Unavailable = SmartHubProblemTypes.ServiceUnavailable;

    public static ProblemHttpResult Problem(int status, string type, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, type: type, extensions: extensions);

    public static ValidationProblem Invalid(Dictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, title: "The request is invalid", type: Validation);

    public static ValidationProblem Invalid(string field, string message) => Invalid(new() { [field] = [message] });

    public static ProblemHttpResult UserNotFound(Guid id) =>
        Problem(StatusCodes.Status404NotFound, NotFound, "User not found", $"No user {id}.");
}
