using Microsoft.Extensions.Options;
using SmartHub.McpServer.Cache;
using SmartHub.McpServer.Credits;
using SmartHub.McpServer.Pricing;
using SmartHub.McpServer.Providers;
using SmartHub.McpServer.Routing;
using SmartHub.ServiceDefaults.Credits;
using SmartHub.ServiceDefaults.Usage;
using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.McpServer.Chat;

public static class ChatExtensions
{
    /// <summary>
    /// The chat pipeline: providers and their router, the price list (from CoreService), the credits client with
    /// credit leases, the answer cache, settlement retries and the usage recorder. Needs <c>AddRedisClient("cache")</c>.
    /// </summary>
    public static IHostApplicationBuilder AddChat(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddProviders();
        builder.AddRouting();
        builder.AddCreditsClient();
        builder.AddUsageRecorder();

        builder.Services.AddOptions<ChatServiceOptions>().BindConfiguration(ChatServiceOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ChatCacheOptions>().BindConfiguration(ChatCacheOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<PriceListOptions>().BindConfiguration(PriceListOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(services => services.GetRequiredService<IOptions<ChatServiceOptions>>().Value);
        builder.Services.AddSingleton(services => services.GetRequiredService<IOptions<ChatCacheOptions>>().Value);
        builder.Services.AddSingleton(services => services.GetRequiredService<IOptions<PriceListOptions>>().Value);
        builder.Services.AddSingleton(services => services.GetRequiredService<IOptions<InternalOptions>>().Value);
        builder.Services.AddHttpClient(PriceList.HttpClientName);
        builder.Services.AddSingleton<PriceList>();
        builder.Services.AddSingleton<ChatMetrics>();
        builder.Services.AddSingleton<ChatCache>();
        builder.Services.AddSingleton<Settlements>();
        builder.Services.AddHostedService(services => services.GetRequiredService<Settlements>());
        builder.Services.AddOptions<CreditLeaseOptions>().BindConfiguration(CreditLeaseOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(services => services.GetRequiredService<IOptions<CreditLeaseOptions>>().Value);
        builder.Services.AddSingleton<CreditLeases>();
        builder.Services.AddHostedService(services => services.GetRequiredService<CreditLeases>());
        builder.Services.AddSingleton<ChatService>();
        builder.Services.AddSingleton<IChatService>(services => services.GetRequiredService<ChatService>());
        return builder;
    }
}
