using System.Text;
using SmartHub.CoreService.Security;

namespace SmartHub.UnitTests.Security;

public sealed class CspReportParserTests
{
    private static CspReportParseResult Parse(string body, string contentType = "application/csp-report", string? userAgent = "TestBrowser/1.0", int maxReports = 100) =>
        CspReportParser.Parse(Encoding.UTF8.GetBytes(body), CspReportParser.FormatOf(contentType)!, userAgent, maxReports);

    [Theory]
    [InlineData("application/csp-report", "csp-report")]
    [InlineData("application/CSP-Report; charset=utf-8", "csp-report")]
    [InlineData("application/reports+json", "reports+json")]
    [InlineData("application/json", "json")]
    [InlineData("text/plain", null)]
    [InlineData("application/x-www-form-urlencoded", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void Only_the_report_media_types_are_accepted(string? contentType, string? format) =>
        Assert.Equal(format, CspReportParser.FormatOf(contentType));

    [Fact]
    public void A_report_uri_report_is_read_whole()
    {
        var result = Parse("""
            {"csp-report": {
              "document-uri": "https://app.example.com/page?token=secret#frag",
              "referrer": "https://user:pw@other.example/",
              "violated-directive": "script-src-elem",
              "effective-directive": "script-src-elem",
              "original-policy": "default-src 'none'; report-uri /r",
              "disposition": "enforce",
              "blocked-uri": "https://evil.example/x.js?a=1",
              "status-code": 200,
              "source-file": "https://app.example.com/app.js",
              "line-number": 12,
              "column-number": 34,
              "script-sample": "alert(1)"
            }}
            """);

        Assert.True(result.IsValid, result.Error);
        var v = Assert.Single(result.Violations);
        Assert.Equal(
            new CspViolation(
                "csp-report", "https://app.example.com/page", "https://evil.example/x.js", "script-src-elem", "script-src-elem",
                "default-src 'none'; report-uri /r", "enforce", "https://other.example/", 200, "https://app.example.com/app.js",
                12, 34, "alert(1)", null, "TestBrowser/1.0"),
            v);
    }

    [Fact]
    public void Old_browsers_name_the_whole_violated_directive()
    {
        var v = Assert.Single(Parse("""{"csp-report": {"document-uri": "https://a.example/", "violated-directive": "Script-Src 'self'", "blocked-uri": "inline"} }""").Violations);

        Assert.Equal("script-src", v.EffectiveDirective);
        Assert.Equal("inline", v.BlockedUri);
    }

    [Fact]
    public void A_reporting_api_body_keeps_csp_violations_and_skips_other_reports()
    {
        var result = Parse("""
            [
              {"type": "deprecation", "age": 1, "url": "https://a.example/", "body": {"id": "x"}},
              {"type": "csp-violation", "age": 53531, "url": "https://a.example/page", "user_agent": "Chrome/120",
               "body": {"documentURL": "https://a.example/page?q=1", "blockedURL": "data:image/png;base64,AAAA",
                        "effectiveDirective": "img-src", "originalPolicy": "img-src 'self'", "disposition": "report",
                        "statusCode": 200, "sourceFile": null, "lineNumber": 3, "columnNumber": 4, "sample": "", "referrer": ""}}
            ]
            """, "application/reports+json");

        Assert.True(result.IsValid, result.Error);
        var v = Assert.Single(result.Violations);
        Assert.Equal("reports+json", v.Format);
        Assert.Equal("https://a.example/page", v.DocumentUri);
        Assert.Equal("data", v.BlockedUri);
        Assert.Equal("img-src", v.EffectiveDirective);
        Assert.Equal("report", v.Disposition);
        Assert.Equal(53531, v.AgeMs);
        Assert.Equal("Chrome/120", v.UserAgent);
        Assert.Null(v.SourceFile);
    }

    [Theory]
    [InlineData("""{"csp-report": {"document-uri": "https://a/", "effective-directive": "img-src"} }""", true)]
    [InlineData("""[{"type": "csp-violation", "body": {"documentURL": "https://a/", "effectiveDirective": "img-src"}}]""", true)]
    [InlineData("\"a string\"", false)]
    public void Application_json_is_read_by_its_shape(string body, bool valid) =>
        Assert.Equal(valid, Parse(body, "application/json").IsValid);

    [Theory]
    [InlineData("application/csp-report", "{not json", "body")]
    [InlineData("application/csp-report", "", "body")]
    [InlineData("application/csp-report", "[]", "body")]
    [InlineData("application/csp-report", """{"report": {} }""", "csp-report")]
    [InlineData("application/csp-report", """{"csp-report": {"effective-directive": "img-src"} }""", "csp-report.document-uri")]
    [InlineData("application/csp-report", """{"csp-report": {"document-uri": "", "effective-directive": "img-src"} }""", "csp-report.document-uri")]
    [InlineData("application/csp-report", """{"csp-report": {"document-uri": "https://a/"} }""", "csp-report.effective-directive")]
    [InlineData("application/csp-report", """{"csp-report": {"document-uri": "https://a/", "effective-directive": "<script>"} }""", "csp-report.effective-directive")]
    [InlineData("application/csp-report", """{"csp-report": {"document-uri": 5, "effective-directive": "img-src"} }""", "csp-report.document-uri")]
    [InlineData("application/csp-report", """{"csp-report": {"document-uri": "https://a/", "effective-directive": "img-src", "line-number": "12"} }""", "csp-report.line-number")]
    [InlineData("application/csp-report", """{"csp-report": {"document-uri": "https://a/", "effective-directive": "img-src", "status-code": -1} }""", "csp-report.status-code")]
    [InlineData("application/reports+json", """{"type": "csp-violation"}""", "body")]
    [InlineData("application/reports+json", """[1]""", "[0]")]
    [InlineData("application/reports+json", """[{"age": 1}]""", "[0].type")]
    [InlineData("application/reports+json", """[{"type": "csp-violation"}]""", "[0].body")]
    [InlineData("application/reports+json", """[{"type": "csp-violation", "body": {"documentURL": "https://a/"}}]""", "[0].body.effectiveDirective")]
    [InlineData("application/reports+json", """[{"type": "csp-violation", "body": {"effectiveDirective": "img-src"}}]""", "[0].body.documentURL")]
    public void A_malformed_report_names_the_field_and_not_the_value(string contentType, string body, string field)
    {
        var result = Parse(body, contentType);

        Assert.False(result.IsValid);
        Assert.Equal(field, result.Field);
        Assert.DoesNotContain("<script>", result.Error!, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_many_reports_in_one_body_are_refused()
    {
        var one = """{"type": "csp-violation", "body": {"documentURL": "https://a/", "effectiveDirective": "img-src"} }""";

        Assert.True(Parse($"[{string.Join(',', Enumerable.Repeat(one, 3))}]", "application/reports+json", maxReports: 3).IsValid);
        Assert.Equal("body", Parse($"[{string.Join(',', Enumerable.Repeat(one, 4))}]", "application/reports+json", maxReports: 3).Field);
    }

    [Fact]
    public void Long_fields_are_cut_and_control_characters_replaced()
    {
        var longPath = "https://a.example/" + new string('p', 5000);
        var sample = new string('s', 300) + "\u0000";
        var v = Assert.Single(Parse($$"""{"csp-report": {"document-uri": "{{longPath}}", "effective-directive": "img-src", "script-sample": "x\u0000y", "original-policy": "{{new string('o', 5000)}}"} }""").Violations);

        Assert.Equal(CspReportParser.MaxUrlLength, v.DocumentUri.Length);
        Assert.Equal(CspReportParser.MaxPolicyLength, v.OriginalPolicy!.Length);
        Assert.Equal("x\uFFFDy", v.Sample);
        Assert.Equal(CspReportParser.MaxSampleLength, CspReportParser.Clip(sample, CspReportParser.MaxSampleLength)!.Length);
        Assert.Equal("a", CspReportParser.Clip("a\U0001F600", 2)); // never half a surrogate pair
        Assert.Equal(CspReportParser.MaxUserAgentLength, Assert.Single(Parse(
            """{"csp-report": {"document-uri": "https://a/", "effective-directive": "img-src"} }""", userAgent: new string('u', 1000)).Violations).UserAgent!.Length);
    }
}
