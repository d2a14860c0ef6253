using System.Runtime.CompilerServices;

// The router's internals (the Redis RPM script, failure classification) are tested directly.
[assembly: InternalsVisibleTo("SmartHub.UnitTests")]
[assembly: InternalsVisibleTo("SmartHub.IntegrationTests")]
