using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace SmartHub.Gateway.Edge;

/// <summary>
/// Section <c>Gateway:TrustedProxies</c>: the load balancers or ingress controllers in front of the gateway whose
/// <c>X-Forwarded-For</c>/<c>X-Forwarded-Proto</c> are believed. Empty by default: the client is the TCP peer, and a
/// client-sent <c>X-Forwarded-For</c> is ignored (it would let anyone pick the IP their per-IP rate limit and audit
/// entries are filed under).
/// </summary>
internal sealed class TrustedProxyOptions
{
    public const string SectionName = "Gateway:TrustedProxies";

    /// <summary>Proxy addresses, e.g. <c>10.0.0.5</c>.</summary>
    public string[] Addresses { get; set; } = [];

    /// <summary>Proxy networks in CIDR notation, e.g. <c>10.0.0.0/8</c>.</summary>
    public string[] Networks { get; set; } = [];

    /// <summary>How many proxies (entries from the right of X-Forwarded-For) are processed.</summary>
    public int ForwardLimit { get; set; } = 1;

    public bool IsEnabled => Addresses.Length > 0 || Networks.Length > 0;

    public List<string> Validate()
    {
        var errors = new List<string>();
        foreach (var address in Addresses)
        {
            if (!IPAddress.TryParse(address, out _))
            {
                errors.Add($"{SectionName}:Addresses: '{address}' is not an IP address.");
            }
        }

        foreach (var network in Networks)
        {
            if (!System.Net.IPNetwork.TryParse(network, out _))
            {
                errors.Add($"{SectionName}:Networks: '{network}' is not a CIDR network (e.g. 10.0.0.0/8).");
            }
        }

        if (ForwardLimit is < 1 or > 10)
        {
            errors.Add($"{SectionName}:ForwardLimit must be between 1 and 10.");
        }

        return errors;
    }

    /// <summary>ASP.NET Core's forwarded-headers options for exactly these proxies (its loopback defaults removed).</summary>
    public void Apply(ForwardedHeadersOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
        options.ForwardLimit = ForwardLimit;
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var address in Addresses)
        {
            options.KnownProxies.Add(IPAddress.Parse(address));
        }

        foreach (var network in Networks)
        {
            options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
        }
    }
}

internal static class TrustedProxyExtensions
{
    public static WebApplicationBuilder AddTrustedProxies(this WebApplicationBuilder builder)
    {
        var trusted = builder.Configuration.GetSection(TrustedProxyOptions.SectionName).Get<TrustedProxyOptions>() ?? new TrustedProxyOptions();
        if (trusted.Validate() is { Count: > 0 } errors)
        {
            throw new OptionsValidationException(TrustedProxyOptions.SectionName, typeof(TrustedProxyOptions), errors);
        }

        builder.Services.AddSingleton(trusted);
        builder.Services.Configure<ForwardedHeadersOptions>(trusted.Apply);
        return builder;
    }

    /// <summary>First of all: the client's address is settled before anything (rate limits, samples, logs) reads it.</summary>
    public static IApplicationBuilder UseTrustedProxies(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.ApplicationServices.GetRequiredService<TrustedProxyOptions>().IsEnabled ? app.UseForwardedHeaders() : app;
    }
}
