using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Credits;

namespace SmartHub.CoreService.Pricing;

/// <summary>
/// Section "Pricing": credits per 1,000 prompt tokens and per 1,000 completion tokens, per model
/// (<c>Pricing:Models:&lt;model id&gt;:PromptPer1K|CompletionPer1K|Provider</c>). The built-in mock models are priced in
/// appsettings.json; an operator adds or overrides models in configuration or environment
/// (<c>Pricing__Models__gpt-4o__PromptPer1K=5</c>).
/// </summary>
public sealed class PricingOptions
{
    public const string SectionName = "Pricing";

    /// <summary>The highest price per 1,000 tokens accepted (a typo of a few zeros is refused at start).</summary>
    public const decimal MaxPricePer1K = 1_000_000m;

    public const int MaxModelIdLength = 200;

    public Dictionary<string, ModelPrice> Models { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Checked at start: model ids, and prices between 0 and <see cref="PricingOptions.MaxPricePer1K"/>.</summary>
public sealed class PricingOptionsValidator : IValidateOptions<PricingOptions>
{
    public ValidateOptionsResult Validate(string? name, PricingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        foreach (var (model, price) in options.Models)
        {
            if (string.IsNullOrWhiteSpace(model) || model.Length > PricingOptions.MaxModelIdLength)
            {
                failures.Add($"Pricing:Models: a model id must be 1-{PricingOptions.MaxModelIdLength} characters ('{model}').");
            }

            if (price is null)
            {
                failures.Add($"Pricing:Models:{model} has no prices.");
                continue;
            }

            if (price.PromptPer1K is < 0 or > PricingOptions.MaxPricePer1K || price.CompletionPer1K is < 0 or > PricingOptions.MaxPricePer1K)
            {
                failures.Add($"Pricing:Models:{model}: PromptPer1K and CompletionPer1K must be between 0 and {PricingOptions.MaxPricePer1K}.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
