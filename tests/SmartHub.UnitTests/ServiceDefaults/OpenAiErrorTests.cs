using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.UnitTests.ServiceDefaults;

public sealed class OpenAiErrorTests
{
    [Fact]
    public async Task Errors_under_v1_use_openai_shape_and_problem_details_elsewhere()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Development });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults();
        builder.AddOpenAiErrors();
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        app.UseOpenAiErrors();
        app.MapGet("/v1/boom", string () => throw new InvalidOperationException("internal detail"));
        app.MapGet("/api/boom", string () => throw new InvalidOperationException("internal detail"));
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        using var v1Crash = await client.GetAsync(new Uri("/v1/boom", UriKind.Relative));
        using var v1Missing = await client.GetAsync(new Uri("/v1/nothing-here", UriKind.Relative));
        using var apiCrash = await client.GetAsync(new Uri("/api/boom", UriKind.Relative));

        Assert.Equal(HttpStatusCode.InternalServerError, v1Crash.StatusCode);
        using (var error = JsonDocument.Parse(await v1Crash.Content.ReadAsStringAsync()))
        {
            Assert.Equal("server_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.DoesNotContain("internal detail", error.RootElement.GetRawText(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.NotFound, v1Missing.StatusCode);
        using (var error = JsonDocument.Parse(await v1Missing.Content.ReadAsStringAsync()))
        {
            Assert.Equal("invalid_request_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Equal("Invalid URL (GET /v1/nothing-here)", error.RootElement.GetProperty("error").GetProperty("message").GetString());
        }

        Assert.Equal("application/problem+json", apiCrash.Content.Headers.ContentType?.MediaType);
        await app.StopAsync();
    }

    [Theory]
    [InlineData(StatusCodes.Status401Unauthorized, "authentication_error")]
    [InlineData(StatusCodes.Status404NotFound, "invalid_request_error")]
    [InlineData(StatusCodes.Status429TooManyRequests, "rate_limit_error")]
    [InlineData(StatusCodes.Status503ServiceUnavailable, "service_unavailable")]
    [InlineData(StatusCodes.Status502BadGateway, "server_error")]
    public void Status_codes_map_to_openai_error_types(int statusCode, string type)
    {
        Assert.Equal(type, OpenAiError.TypeFor(statusCode));
    }
}
