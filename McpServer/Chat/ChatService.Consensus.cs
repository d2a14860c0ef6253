using System.Security.Claims;
using SmartHub.McpServer.Providers;

namespace SmartHub.McpServer.Chat;

public sealed partial class ChatService
{
    /// <summary>
    /// A consensus request: every member model asked in parallel through the normal pipeline (each reserves, is routed,
    /// captures and may hit the cache on its own: every call made is charged), then the answers compared
    /// (<see cref="Consensus.Choose"/>). One usage record covers the request: tokens and credits summed over the calls,
    /// provider "consensus". It fails only when every member fails (with the first member's error).
    /// </summary>
    private async Task<ChatOutcome> ConsensusAsync(ChatRequest request, ClaimsPrincipal caller, ChatOptions chatOptions, CancellationToken cancellationToken)
    {
        var call = new CallState(request, caller, timeProvider);
        var members = Consensus.Parse(request.Model, out var problem);
        if (members is null)
        {
            return Finish(call, Error(StatusCodes.Status400BadRequest, problem!, "invalid_request_error", "invalid_consensus_model", "model"));
        }

        foreach (var member in members)
        {
            if (!catalog.TryGet(member, out _))
            {
                return Finish(call, Error(StatusCodes.Status404NotFound, $"The model '{member}' does not exist or you do not have access to it.", "invalid_request_error", "model_not_found", "model"));
            }
        }

        using var activity = telemetry.ActivitySource.StartActivity("chat.consensus");
        var outcomes = await Task.WhenAll(members.Select(member =>
            CompleteOneAsync(request with { Model = member, Stream = false }, caller, chatOptions, record: false, cancellationToken))).ConfigureAwait(false);
        call.FirstTokenAt = timeProvider.GetTimestamp();

        var usage = new TokenUsage(outcomes.Sum(o => o.Usage.PromptTokens), outcomes.Sum(o => o.Usage.CompletionTokens));
        var credits = outcomes.Sum(o => o.Credits);
        var answered = Enumerable.Range(0, members.Count).Where(i => outcomes[i].Succeeded).ToList();
        if (answered.Count == 0)
        {
            var first = outcomes[0];
            return Finish(call, first with { Provider = "consensus", Usage = usage, Credits = credits });
        }

        var (chosen, strategy, agreement, similarity) = Consensus.Choose(answered.Select(i => outcomes[i].Completion!.Content ?? string.Empty).ToList());
        var winner = answered[chosen];
        var votes = Enumerable.Range(0, members.Count).Select(i =>
        {
            var at = answered.IndexOf(i);
            return new ConsensusVote(members[i], outcomes[i].Provider, outcomes[i].Status, at < 0 ? 0 : similarity[at], outcomes[i].Error?.Error.Message);
        }).ToList();
        activity?.SetTag("smarthub.consensus.agreement", agreement);
        return Finish(call, new ChatOutcome(
            StatusCodes.Status200OK,
            outcomes[winner].Completion,
            null,
            "consensus",
            usage,
            credits,
            CacheHit: answered.All(i => outcomes[i].CacheHit),
            call.Id,
            call.Created,
            new ConsensusInfo(strategy, agreement, votes, members[winner])));
    }
}
