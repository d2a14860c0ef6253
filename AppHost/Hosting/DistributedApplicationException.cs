namespace SmartHub.Hosting;

/// <summary>A failure of the graph that the operator can act on; the message names the cause and the fix.</summary>
public sealed class DistributedApplicationException : Exception
{
    public DistributedApplicationException(string message) : base(message) { }
    public DistributedApplicationException(string message, Exception inner) : base(message, inner) { }
    public DistributedApplicationException() { }
}
