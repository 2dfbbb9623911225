using Rekey.Access;
using Rekey.Keys;

namespace Rekey.Core.Tests.Access;

public sealed class KeyPatternTests
{
    [Theory]
    [InlineData("*", "anything/at/all", true)]
    [InlineData("tenants/h42/*", "tenants/h42/patients", true)]
    [InlineData("tenants/h42/*", "tenants/h42/a/b", true)]
    [InlineData("tenants/h42/*", "tenants/h42", false)]
    [InlineData("tenants/h42/*", "tenants/h420/patients", false)]
    [InlineData("tenants/h42/patients", "tenants/h42/patients", true)]
    [InlineData("tenants/h42/patients", "tenants/h42/patients2", false)]
    public void Matches_FollowsSegmentBoundaries(string pattern, string key, bool expected) =>
        Assert.Equal(expected, KeyPattern.Parse(pattern).Matches(KeyName.Parse(key)));

    [Theory]
    [InlineData("")]
    [InlineData("tenants/h4*")]
    [InlineData("*/patients")]
    [InlineData("tenants/*/x")]
    [InlineData("tenants//*")]
    [InlineData("Tenants/*")]
    [InlineData("/*")]
    public void Parse_Invalid_Throws(string pattern)
    {
        Assert.Throws<ArgumentException>(() => KeyPattern.Parse(pattern));
        Assert.False(KeyPattern.TryParse(pattern, out _));
    }
}
