using Rekey.Keys;

namespace Rekey.Core.Tests.Keys;

public sealed class KeyNameTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("tenants/h42/patients")]
    [InlineData("payments.cards-v2_eu")]
    [InlineData("a/b.c/d-e/f_g")]
    public void Parse_ValidName_KeepsIt(string value) => Assert.Equal(value, KeyName.Parse(value).Value);

    [Theory]
    [InlineData("")]
    [InlineData("Upper")]
    [InlineData("with space")]
    [InlineData("/leading")]
    [InlineData("trailing/")]
    [InlineData("double//slash")]
    [InlineData("a/../b")]
    [InlineData("..")]
    [InlineData("a/./b")]
    [InlineData("ümlaut")]
    [InlineData("semi;colon")]
    public void Parse_InvalidName_Throws(string value)
    {
        Assert.Throws<ArgumentException>(() => KeyName.Parse(value));
        Assert.False(KeyName.TryParse(value, out _));
    }

    [Fact]
    public void Parse_MaxLength_IsAcceptedAndOneMoreIsNot()
    {
        Assert.Equal(128, KeyName.Parse(new string('k', 128)).Value.Length);
        Assert.Throws<ArgumentException>(() => KeyName.Parse(new string('k', 129)));
    }

    [Fact]
    public void Default_HasNoValue() => Assert.Throws<InvalidOperationException>(() => default(KeyName).Value);
}
