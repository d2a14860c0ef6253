using SmartHub.Gateway.Edge;
using SmartHub.Gateway.ResponseTime;
using SmartHub.ServiceDefaults.Correlation;
using SmartHub.ServiceDefaults.Errors;
using SmartHub.ServiceDefaults.ServiceDiscovery;
using SmartHub.ServiceDefaults.Telemetry;
using Yarp.ReverseProxy.Transforms;

namespace SmartHub.Gateway.Proxy;

internal static class ProxyExtensions
{
    /// <summary>YARP with the in-memory routing table and the correlation-id and trace-context transforms.</summary>
    public static WebApplicationBuilder AddGatewayProxy(this WebApplicationBuilder builder)
    {
        var clusters = GatewayRoutes.Clusters(new ServiceEndpointResolver(builder.Configuration));

        builder.Services.AddReverseProxy()
            .LoadFromMemory(GatewayRoutes.Routes, clusters)
            .AddTransforms(context =>
            {
                // X-Forwarded-For/-Proto/-Host/-Prefix are set to what the gateway established (the TCP peer, or the
                // client named by a trusted proxy), never appended to what the client sent: services believe the
                // first X-Forwarded-For entry for audit logs, and a client must not be able to choose it.
                context.UseDefaultForwarders = false;
                context.AddXForwarded(ForwardedTransformActions.Set);

                // The request's validated (or generated) id replaces whatever the client sent.
                context.AddRequestTransform(transform =>
                {
                    if (transform.HttpContext.GetCorrelationId() is { } correlationId)
                    {
                        transform.ProxyRequest.Headers.Remove(CorrelationId.HeaderName);
                        transform.ProxyRequest.Headers.TryAddWithoutValidation(CorrelationId.HeaderName, correlationId);
                    }

                    if (TraceContextPropagation.IsManual)
                    {
                        TraceContextPropagation.Inject(transform.ProxyRequest.Headers);
                    }

                    return ValueTask.CompletedTask;
                });

                // One value on the way back, even though the downstream echoes it too.
                context.AddResponseTransform(transform =>
                {
                    if (transform.HttpContext.GetCorrelationId() is { } correlationId)
                    {
                        transform.HttpContext.Response.Headers[CorrelationId.HeaderName] = correlationId;
                    }

                    return ValueTask.CompletedTask;
                });
            });

        return builder;
    }

    /// <summary>
    /// Maps the route table. Each YARP endpoint carries its <see cref="GatewayRoute"/> row (read by the edge
    /// middleware) and its authorization policy. The proxy pipeline: response-time sample, 413 mapping, then YARP's
    /// own steps (session affinity, load balancing, passive health checks) and the forwarder.
    /// </summary>
    public static WebApplication MapGatewayProxy(this WebApplication app)
    {
        // Errors the gateway produces itself on the OpenAI surface (502/504 when mcp is down)
        // use OpenAI's error shape; everything else gets ProblemDetails from the defaults.
        app.UseOpenAiErrors();

        app.MapReverseProxy(proxy =>
            {
                proxy.UseResponseTimeSamples();
                proxy.Use(RequestBodyLimits.MapBodyTooLargeAsync);
                proxy.UseSessionAffinity();
                proxy.UseLoadBalancing();
                proxy.UsePassiveHealthChecks();
            })
            .ConfigureEndpoints(GatewayRoutes.AttachRow);
        return app;
    }
}
