using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace SmartHub.McpServer.Mcp;

internal static class McpExtensions
{
    /// <summary>
    /// The MCP endpoint's services: options (section <c>Mcp</c>, validated at start), the session store and its reaper,
    /// the HTTP handler and the CoreService client of the tools. The tools use the chat pipeline
    /// (<see cref="Chat.IChatService"/>) and the model catalog registered by the chat setup.
    /// </summary>
    public static IHostApplicationBuilder AddMcp(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        services.AddOptions<McpOptions>()
            .BindConfiguration(McpOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<McpOptions>, McpOptionsValidator>();

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<McpServerOptionsSet>();
        services.AddSingleton<McpSessionStore>();
        services.AddHostedService<McpSessionReaper>();
        services.AddSingleton<McpHttpHandler>();
        services.AddSingleton<CoreApiClient>();
        services.AddHttpClient(CoreApiClient.HttpClientName);

        return builder;
    }
}

/// <summary>The tools' structured results, snake_case as in OpenAI's API (prompt_tokens, owned_by).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ChatToolUsage))]
[JsonSerializable(typeof(McpModelList))]
internal sealed partial class McpJsonContext : JsonSerializerContext;
