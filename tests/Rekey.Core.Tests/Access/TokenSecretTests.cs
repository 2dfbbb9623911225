using Rekey.Access;

namespace Rekey.Core.Tests.Access;

public sealed class TokenSecretTests
{
    [Fact]
    public void Issue_ThenRead_GivesTheSameIdAndHash()
    {
        TokenSecret.Issue(out var id, out var secret, out var hash);
        Assert.StartsWith("rkt_" + id + "_", secret, StringComparison.Ordinal);
        Assert.True(TokenSecret.TryRead(secret, out var readId, out var readHash));
        Assert.Equal(id, readId);
        Assert.Equal(hash, readHash);
        Assert.True(TokenSecret.Matches(readHash, Token(hash)));
    }

    [Fact]
    public void Issue_Twice_GivesDifferentSecrets()
    {
        TokenSecret.Issue(out var a, out var secretA, out _);
        TokenSecret.Issue(out var b, out var secretB, out _);
        Assert.NotEqual(a, b);
        Assert.NotEqual(secretA, secretB);
    }

    [Fact]
    public void Matches_AnyAlteredCharacter_Fails()
    {
        TokenSecret.Issue(out _, out var secret, out var hash);
        var token = Token(hash);
        for (var i = 21; i < secret.Length; i++)
        {
            var altered = secret[..i] + (secret[i] == 'A' ? 'B' : 'A') + secret[(i + 1)..];
            if (TokenSecret.TryRead(altered, out _, out var alteredHash))
            {
                Assert.False(TokenSecret.Matches(alteredHash, token));
            }
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Bearer x")]
    [InlineData("rkt_0123456789abcdef_short")]
    [InlineData("rkt_0123456789ABCDEF_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("xyz_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void TryRead_NotAToken_IsFalse(string? presented) => Assert.False(TokenSecret.TryRead(presented, out _, out _));

    [Fact]
    public void AccessToken_UsabilityAndScope()
    {
        var now = DateTimeOffset.UnixEpoch.AddDays(1);
        var token = Token(new byte[32]) with { ExpiresAt = now.AddHours(1), Patterns = [KeyPattern.Parse("tenants/h42/*")] };
        Assert.True(token.IsUsableAt(now));
        Assert.False(token.IsUsableAt(now.AddHours(1)));
        Assert.False((token with { RevokedAt = now }).IsUsableAt(now));
        Assert.True(token.Covers(Rekey.Keys.KeyName.Parse("tenants/h42/x")));
        Assert.False(token.Covers(Rekey.Keys.KeyName.Parse("tenants/h43/x")));
        Assert.DoesNotContain("Secret", token.ToString(), StringComparison.Ordinal);
    }

    private static AccessToken Token(byte[] hash) =>
        new("0123456789abcdef", "test", new HashSet<Role> { Role.Application }, [KeyPattern.All], hash, DateTimeOffset.UnixEpoch, null, null);
}
