using System.Text;
using Rekey.Envelope;

namespace Rekey.Core.Tests.Envelope;

/// <summary>Pairs contexts: one canonical byte form whatever the order, no value taken for a separator, never equal to text.</summary>
public sealed class EncryptionContextPairsTests
{
    [Fact]
    public void Order_DoesNotMatter_ButEveryNameAndValueDoes()
    {
        var a = EncryptionContext.FromPairs(("tenant", "h42"), ("id", "17"));
        var b = EncryptionContext.FromPairs(("id", "17"), ("tenant", "h42"));
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.True(a.IsPairs);
        Assert.Equal("{\"id\":\"17\",\"tenant\":\"h42\"}", a.Value);
        Assert.NotEqual(a, EncryptionContext.FromPairs(("tenant", "h42"), ("id", "18")));
        Assert.NotEqual(a, EncryptionContext.FromPairs(("tenant", "h42"), ("ID", "17")));
    }

    [Fact]
    public void ValuesHoldingSeparators_AreNotOtherPairs()
    {
        var one = EncryptionContext.FromPairs(("a", "1;b=2"));
        var two = EncryptionContext.FromPairs(("a", "1"), ("b", "2"));
        Assert.NotEqual(one, two);
        Assert.NotEqual(EncryptionContext.FromPairs(("a", "bc"), ("d", "")), EncryptionContext.FromPairs(("a", "b"), ("cd", "")));
    }

    [Fact]
    public void Pairs_AndText_NeverBindTheSameBytes()
    {
        var pairs = EncryptionContext.FromPairs(("id", "17"));
        Assert.Equal(EncryptionContext.PairsMarker, pairs.Utf8[0]);
        var asText = EncryptionContext.From(Encoding.UTF8.GetString(pairs.Utf8));
        Assert.NotEqual(pairs, asText);
        Assert.DoesNotContain(EncryptionContext.PairsMarker, asText.Utf8.ToArray());
        Assert.False(asText.IsPairs);
    }

    [Fact]
    public void Encoding_IsTheDocumentedBytes()
    {
        var context = EncryptionContext.FromPairs(("b", "xy"), ("a", "é"));
        byte[] expected =
        [
            0xFF, 0x01, 0x00, 0x02,
            0x00, 0x01, (byte)'a', 0x00, 0x00, 0x00, 0x02, 0xC3, 0xA9,
            0x00, 0x01, (byte)'b', 0x00, 0x00, 0x00, 0x02, (byte)'x', (byte)'y',
        ];
        Assert.Equal(expected, context.Utf8.ToArray());
    }

    [Fact]
    public void BadPairs_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => EncryptionContext.FromPairs());
        Assert.Throws<ArgumentException>(() => EncryptionContext.FromPairs(("", "x")));
        Assert.Throws<ArgumentException>(() => EncryptionContext.FromPairs(("a", "1"), ("a", "2")));
        Assert.Throws<ArgumentException>(() => EncryptionContext.FromPairs(("a", new string('x', EncryptionContext.MaxLength))));
    }
}
