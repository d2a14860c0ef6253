// A bare YARP pass-through to one destination: the baseline the Gateway's edge features are measured against.
//   BareProxy --urls http://127.0.0.1:PORT --destination http://127.0.0.1:CORE_PORT [--no-logging true]
// By default it is YARP in the default ASP.NET Core host, as `dotnet new web` + AddReverseProxy gives it: console
// logging on (the benchmark sets the level to Warning for both sides). With logging on, ASP.NET Core starts an Activity
// and a log scope per request and HttpClient a child Activity per call, as in any real deployment, the Gateway's
// included. --no-logging removes the logging providers: the cheapest possible pass-through, reported beside it.
using Yarp.ReverseProxy.Configuration;

var builder = WebApplication.CreateBuilder(args);
if (builder.Configuration.GetValue<bool>("no-logging"))
{
    builder.Logging.ClearProviders();
}

var destination = builder.Configuration["destination"] ?? throw new InvalidOperationException("--destination http://host:port is required.");
builder.Services.AddReverseProxy().LoadFromMemory(
    [new RouteConfig { RouteId = "all", ClusterId = "downstream", Match = new RouteMatch { Path = "/{**rest}" } }],
    [new ClusterConfig { ClusterId = "downstream", Destinations = new Dictionary<string, DestinationConfig> { ["d"] = new() { Address = destination } } }]);
var app = builder.Build();
app.MapReverseProxy();
app.Run();
