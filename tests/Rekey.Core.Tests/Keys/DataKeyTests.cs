namespace Rekey.Core.Tests.Keys;

/// <summary>A data key's plaintext is zeroed when it is disposed, and cannot be read afterwards.</summary>
public sealed class DataKeyTests
{
    [Fact]
    public void Dispose_ZeroesThePlaintext_AndReadingAfterwardsThrows()
    {
        var bytes = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        var key = new DataKey(bytes, [1, 2, 3]);
        Assert.True(key.HasPlaintext);
        Assert.Equal(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray(), key.DangerousPlaintext.ToArray());

        key.Dispose();
        Assert.All(bytes, b => Assert.Equal(0, b));
        Assert.False(key.HasPlaintext);
        Assert.Throws<ObjectDisposedException>(() => key.DangerousPlaintext.Length);
        Assert.Equal(new byte[] { 1, 2, 3 }, key.Envelope);
        key.Dispose();
    }

    [Fact]
    public void WrappedOnly_HasNoPlaintext()
    {
        using var key = new DataKey(null, [9]);
        Assert.False(key.HasPlaintext);
        Assert.Throws<InvalidOperationException>(() => key.DangerousPlaintext.Length);
    }
}
