using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Credits;

namespace SmartHub.CoreService.Pricing;

/// <summary>The price list (any authenticated user or API key): what a request to each model costs.</summary>
public static class PricingApi
{
    public static IEndpointRouteBuilder MapPricingApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/pricing", GetPricing)
            .RequireAuthorization()
            .WithTags("Pricing")
            .WithName("GetPricing")
            .WithSummary("Credits per 1,000 prompt tokens and per 1,000 completion tokens, per model; a request costs the sum, rounded up to a whole credit.");
        // The same list for McpServer, which charges by it (X-Internal-Token; the gateway never routes /internal).
        app.MapGet("/internal/pricing", GetPricing)
            .RequireInternalToken()
            .WithTags("Internal")
            .WithName("GetInternalPricing")
            .WithSummary("The price list for SmartHub services (internal token): what McpServer reserves and captures by.");
        return app;
    }

    public static Ok<PricingResponse> GetPricing(IOptionsMonitor<PricingOptions> pricing)
    {
        ArgumentNullException.ThrowIfNull(pricing);
        var models = pricing.CurrentValue.Models
            .OrderBy(m => m.Key, StringComparer.Ordinal)
            .Select(m => new ModelPriceResponse(m.Key, m.Value.Provider, m.Value.PromptPer1K, m.Value.CompletionPer1K))
            .ToList();
        return TypedResults.Ok(new PricingResponse("credits", 1000, models));
    }
}
