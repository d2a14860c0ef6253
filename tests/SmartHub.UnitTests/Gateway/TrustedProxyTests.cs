using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using SmartHub.Gateway.Edge;

namespace SmartHub.UnitTests.Gateway;

public sealed class TrustedProxyTests
{
    [Fact]
    public void Nothing_is_trusted_by_default_not_even_loopback()
    {
        var trusted = new TrustedProxyOptions();
        var options = new ForwardedHeadersOptions();

        trusted.Apply(options);

        Assert.False(trusted.IsEnabled);
        Assert.Empty(options.KnownProxies);   // ASP.NET Core's default trusts 127.0.0.1 and ::1
        Assert.Empty(options.KnownIPNetworks);
    }

    [Fact]
    public void Configured_proxies_and_networks_are_the_only_ones_trusted()
    {
        var trusted = new TrustedProxyOptions { Addresses = ["10.1.2.3"], Networks = ["10.0.0.0/8", "fd00::/8"], ForwardLimit = 2 };
        var options = new ForwardedHeadersOptions();

        Assert.Empty(trusted.Validate());
        trusted.Apply(options);

        Assert.True(trusted.IsEnabled);
        Assert.Equal(IPAddress.Parse("10.1.2.3"), Assert.Single(options.KnownProxies));
        Assert.Equal(2, options.KnownIPNetworks.Count);
        Assert.Equal(2, options.ForwardLimit);
        Assert.Equal(ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto, options.ForwardedHeaders);
    }

    [Fact]
    public void Bad_entries_are_refused_at_start_with_their_names()
    {
        var trusted = new TrustedProxyOptions { Addresses = ["not-an-ip"], Networks = ["10.0.0.0/99"], ForwardLimit = 0 };

        var errors = trusted.Validate();

        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Contains("'not-an-ip'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'10.0.0.0/99'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("ForwardLimit", StringComparison.Ordinal));
    }
}
