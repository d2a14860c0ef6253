using SmartHub.AuthService.ApiKeys;

namespace SmartHub.UnitTests.Identity;

public sealed class ScopePolicyTests
{
    private static readonly string[] Manager = ["chat:use", "credits:grant", "monitoring:read", "system:read"];

    [Fact]
    public void No_scopes_means_chat_use()
    {
        var result = ScopePolicy.Validate(null, Manager);

        Assert.True(result.IsValid);
        Assert.Equal(["chat:use"], result.Scopes);
        Assert.Equal(["chat:use"], ScopePolicy.Validate([], Manager).Scopes);
    }

    [Fact]
    public void Scopes_the_owner_has_are_accepted_sorted_and_deduplicated()
    {
        var result = ScopePolicy.Validate(["monitoring:read", "chat:use", "monitoring:read"], Manager);

        Assert.True(result.IsValid);
        Assert.Equal(["chat:use", "monitoring:read"], result.Scopes);
    }

    [Fact]
    public void A_scope_the_owner_lacks_is_refused()
    {
        var result = ScopePolicy.Validate(["chat:use", "users:manage"], Manager);

        Assert.False(result.IsValid);
        Assert.Equal(["users:manage"], result.NotGranted);
        Assert.Empty(result.Unknown);
    }

    [Fact]
    public void An_unknown_scope_is_refused()
    {
        var result = ScopePolicy.Validate(["root"], Manager);

        Assert.False(result.IsValid);
        Assert.Equal(["root"], result.Unknown);
    }

    [Fact]
    public void A_key_creating_a_key_cannot_exceed_its_own_scopes()
    {
        var result = ScopePolicy.Validate(["monitoring:read"], Manager, callerPermissions: ["chat:use", "keys:manage"]);

        Assert.False(result.IsValid);
        Assert.Equal(["monitoring:read"], result.NotGranted);
    }

    [Fact]
    public void Effective_permissions_are_the_owners_intersected_with_the_scopes()
    {
        Assert.Equal(["chat:use"], ScopePolicy.Effective(["chat:use", "users:manage"], ["chat:use", "monitoring:read"]));
        Assert.Empty(ScopePolicy.Effective(["chat:use"], ["monitoring:read"]));
        // The owner lost a role after the key was made: the key loses it too.
        Assert.Equal(["chat:use"], ScopePolicy.Effective(["chat:use"], ["chat:use", "system:read"]));
    }
}
