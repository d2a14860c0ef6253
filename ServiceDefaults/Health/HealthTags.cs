namespace SmartHub.ServiceDefaults.Health;

public static class HealthTags
{
    /// <summary>Checks run by <c>/alive</c> (liveness): the process itself.</summary>
    public const string Live = "live";

    /// <summary>Dependencies the service needs to serve traffic; <c>/health</c> runs every check.</summary>
    public const string Ready = "ready";
}
