using Rekey.Envelope;

namespace Rekey.Core.Tests.Envelope;

public sealed class EncryptionContextTests
{
    [Fact]
    public void From_Empty_Throws() => Assert.Throws<ArgumentException>(() => EncryptionContext.From(string.Empty));

    [Fact]
    public void From_TooLong_Throws() => Assert.Throws<ArgumentException>(() => EncryptionContext.From(new string('é', 2049)));

    [Fact]
    public void From_AtLimit_IsAccepted() => Assert.Equal(4096, EncryptionContext.From(new string('a', 4096)).Value.Length);

    [Fact]
    public void Equals_ComparesOrdinally() => Assert.NotEqual(EncryptionContext.From("A"), EncryptionContext.From("a"));
}
