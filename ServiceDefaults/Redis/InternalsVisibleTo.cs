using System.Runtime.CompilerServices;

// The RESP parser/writer and the health check are internal; the tests exercise them directly.
[assembly: InternalsVisibleTo("SmartHub.UnitTests")]
[assembly: InternalsVisibleTo("SmartHub.IntegrationTests")]
