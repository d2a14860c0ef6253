namespace SmartHub.ServiceDefaults.Credits;

/// <summary>
/// A model's price in credits per 1,000 prompt tokens and per 1,000 completion tokens. CoreService holds the price list
/// (section <c>Pricing</c>) and publishes it (<c>GET /api/v1/pricing</c>, <c>GET /internal/pricing</c>); McpServer
/// reserves and captures by it, so what users read is what they are charged.
/// </summary>
public sealed class ModelPrice
{
    /// <summary>Who serves the model (informational: McpServer's provider configuration decides).</summary>
    public string? Provider { get; set; }

    public decimal PromptPer1K { get; set; }

    public decimal CompletionPer1K { get; set; }

    /// <summary>Credits for a request: prompt and completion tokens at their prices, rounded up to a whole credit.</summary>
    public long Cost(long promptTokens, long completionTokens) =>
        (long)Math.Ceiling(((promptTokens * PromptPer1K) + (completionTokens * CompletionPer1K)) / 1000m);
}

public sealed record ModelPriceResponse(string Model, string? Provider, decimal PromptPer1K, decimal CompletionPer1K);

public sealed record PricingResponse(string Currency, int TokensPerUnit, IReadOnlyList<ModelPriceResponse> Models);
