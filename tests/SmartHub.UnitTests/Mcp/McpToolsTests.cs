using System.Net;
using System.Text;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using SmartHub.McpServer.Chat;
using SmartHub.McpServer.Mcp;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.UnitTests.Mcp;

public sealed class McpToolsTests
{
    private static readonly string[] s_chatArguments = ["model", "prompt", "messages", "max_tokens", "temperature"];

    private static McpToolArguments Arguments(string json, params string[] known) =>
        new(JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json), known.Length == 0 ? s_chatArguments : known);

    [Fact]
    public void A_prompt_is_one_user_message()
    {
        var messages = McpTools.ReadMessages(Arguments("""{"model":"m","prompt":"Hello"}"""));

        var message = Assert.Single(messages);
        Assert.Equal(("user", "Hello"), (message.Role, message.Content));
    }

    [Theory]
    [InlineData("""{"model":"m"}""", "either 'prompt'")]
    [InlineData("""{"model":"m","prompt":"a","messages":[]}""", "either 'prompt'")]
    [InlineData("""{"model":"m","messages":[]}""", "array of 1 to 4096")]
    [InlineData("""{"model":"m","messages":"hi"}""", "array of 1 to 4096")]
    [InlineData("""{"model":"m","messages":[{"role":"user"}]}""", "messages[0]")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":1}]}""", "messages[0]")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":"b","name":"x"}]}""", "'messages[1]' has an unknown member 'name'")]
    [InlineData("""{"model":"m","messages":[{"role":"robot","content":"a"}]}""", "messages[0].role")]
    [InlineData("""{"model":"m","prompt":""}""", "'prompt' must have 1 to")]
    [InlineData("""{"model":"m","prompt":7}""", "'prompt' must be a string")]
    public void Wrong_messages_are_named(string json, string expected)
    {
        var error = Assert.Throws<McpToolArgumentException>(() => McpTools.ReadMessages(Arguments(json)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_arguments_are_refused_with_the_known_ones()
    {
        var error = Assert.Throws<McpToolArgumentException>(() => Arguments("""{"model":"m","top_p":1}"""));

        Assert.Equal("Unknown argument 'top_p'. This tool takes: model, prompt, messages, max_tokens, temperature.", error.Message);
    }

    [Theory]
    [InlineData("""{"n":0}""")]
    [InlineData("""{"n":11}""")]
    [InlineData("""{"n":1.5}""")]
    [InlineData("""{"n":"3"}""")]
    public void Whole_numbers_are_checked(string json)
    {
        Assert.Throws<McpToolArgumentException>(() => Arguments(json, "n").OptionalInt("n", 1, 10));
    }

    [Fact]
    public void Null_counts_as_absent()
    {
        var arguments = Arguments("""{"n":null}""", "n");

        Assert.False(arguments.Has("n"));
        Assert.Null(arguments.OptionalInt("n", 1, 10));
    }

    [Theory]
    [InlineData(402, null, "Insufficient credits: nope Check get_balance.")]
    [InlineData(404, null, "Unknown model 'm': nope Use list_models for the model ids.")]
    [InlineData(429, 2.2, "Rate limited: nope Retry after 3 s.")]
    [InlineData(503, null, "The model is unavailable right now (HTTP 503): nope")]
    [InlineData(400, null, "Invalid request: nope")]
    public void Failed_chats_say_what_happened(int status, double? retryAfterSeconds, string expected)
    {
        var outcome = new ChatOutcome(status, null, OpenAiError.Create("nope", "x"),
            RetryAfter: retryAfterSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null);

        Assert.Equal(expected, McpTools.DescribeFailure("m", outcome));
    }

    [Fact]
    public void Core_refusals_quote_the_problem_details()
    {
        var problem = JsonDocument.Parse("""{"title":"Bad","detail":"from must be a date"}""").RootElement;

        Assert.Equal("CoreService refused the request (HTTP 400): from must be a date", CoreApiClient.Describe(HttpStatusCode.BadRequest, problem));
        Assert.Equal("CoreService is unavailable (HTTP 503).", CoreApiClient.Describe(HttpStatusCode.ServiceUnavailable, null));
    }

    [Fact]
    public void Every_tool_has_a_description_and_an_object_schema()
    {
        Assert.Equal(["chat", "list_models", "get_balance", "get_usage"], McpTools.All.Select(t => t.ProtocolTool.Name));
        Assert.All(McpTools.All, tool =>
        {
            Assert.False(string.IsNullOrWhiteSpace(tool.ProtocolTool.Description));
            Assert.Equal("object", tool.ProtocolTool.InputSchema.GetProperty("type").GetString());
            Assert.False(tool.ProtocolTool.InputSchema.GetProperty("additionalProperties").GetBoolean());
        });
    }

    [Fact]
    public void A_json_rpc_request_parses_with_its_id()
    {
        Assert.True(McpHttpHandler.TryParse(Encoding.UTF8.GetBytes("""  {"jsonrpc":"2.0","id":"a1","method":"tools/list"}"""), out var message, out _));

        var request = Assert.IsType<JsonRpcRequest>(message);
        Assert.Equal("tools/list", request.Method);
        Assert.Equal("a1", request.Id.ToString());
    }

    [Theory]
    [InlineData("   ", (int)McpErrorCode.InvalidRequest)]
    [InlineData("[1]", (int)McpErrorCode.InvalidRequest)]
    [InlineData("{\"jsonrpc\":", (int)McpErrorCode.ParseError)]
    [InlineData("42", (int)McpErrorCode.InvalidRequest)]
    public void Bodies_that_are_not_one_message_get_the_json_rpc_code(string body, int code)
    {
        Assert.False(McpHttpHandler.TryParse(Encoding.UTF8.GetBytes(body), out _, out var error));

        Assert.Equal(code, error.Code);
    }
}
