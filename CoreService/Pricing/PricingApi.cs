using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace SmartHub.CoreService.Pricing;

public sealed record ModelPriceResponse(string Model, string? Provider, decimal PromptPer1K, decimal CompletionPer1K);

public sealed record PricingResponse(string Currency, int TokensPerUnit, IReadOnlyList<ModelPriceResponse> Models);

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
