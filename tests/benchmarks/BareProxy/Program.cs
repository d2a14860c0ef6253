// A bare YARP pass-through to one destination: the baseline the Gateway's edge features are measured against.
//   BareProxy --urls http://127.0.0.1:PORT --destination http://127.0.0.1:CORE_PORT
using Yarp.ReverseProxy.Configuration;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.ClearProviders();
var destination = builder.Configuration["destination"] ?? throw new InvalidOperationException("--destination http://host:port is required.");
builder.Services.AddReverseProxy().LoadFromMemory(
    [new RouteConfig { RouteId = "all", ClusterId = "downstream", Match = new RouteMatch { Path = "/{**rest}" } }],
    [new ClusterConfig { ClusterId = "downstream", Destinations = new Dictionary<string, DestinationConfig> { ["d"] = new() { Address = destination } } }]);
var app = builder.Build();
app.MapReverseProxy();
app.Run();
