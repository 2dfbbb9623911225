using Rekey.Audit;

namespace Rekey.Core.Tests.Audit;

/// <summary>The verifier catches every edit, deletion, insertion, reordering and (given a head) truncation.</summary>
public sealed class AuditVerifierTests
{
    [Fact]
    public void Verify_IntactChain_IsValidAndReportsHead()
    {
        var chain = Chain(5);
        var result = AuditVerifier.Verify(chain);
        Assert.True(result.IsValid, result.Problem);
        Assert.Equal(5, result.EventCount);
        Assert.Equal(new AuditHead(5, chain[^1].Hash), result.Head);
    }

    [Fact]
    public void Verify_EmptyLog_IsValid() => Assert.True(AuditVerifier.Verify([]).IsValid);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void Verify_EditedEvent_FailsThere(int sequence)
    {
        var chain = Chain(5);
        chain[sequence - 1] = chain[sequence - 1] with { Record = chain[sequence - 1].Record with { Actor = "mallory" } };
        AssertFailsAt(chain, sequence, "edited");
    }

    [Fact]
    public void Verify_EditedEventWithRecomputedHash_FailsAtTheNext()
    {
        var chain = Chain(5);
        var edited = chain[2].Record with { Outcome = "refused:Conflict" };
        chain[2] = chain[2] with { Record = edited, Hash = AuditChain.ComputeHash(edited, 3, chain[2].PreviousHash) };
        AssertFailsAt(chain, 4, "chain was broken");
    }

    [Fact]
    public void Verify_DeletedEvent_Fails()
    {
        var chain = Chain(5);
        chain.RemoveAt(2);
        AssertFailsAt(chain, 4, "removed");
    }

    [Fact]
    public void Verify_InsertedEvent_Fails()
    {
        var chain = Chain(5);
        chain.Insert(2, AuditChain.Seal(Record("inserted"), 3, chain[1].Hash));
        AssertFailsAt(chain, 3, "removed, inserted or moved");
    }

    [Fact]
    public void Verify_ReorderedEvents_Fail()
    {
        var chain = Chain(5);
        (chain[1], chain[2]) = (chain[2], chain[1]);
        AssertFailsAt(chain, 3, "moved");
    }

    [Fact]
    public void Verify_ReorderedEventsRenumbered_Fail()
    {
        var chain = Chain(5);
        var second = chain[1];
        var third = chain[2];
        chain[1] = third with { Sequence = 2 };
        chain[2] = second with { Sequence = 3 };
        AssertFailsAt(chain, 2, "chain was broken");
    }

    [Fact]
    public void Verify_TruncatedTail_WithRecordedHead_Fails()
    {
        var chain = Chain(6);
        var head = new AuditHead(6, chain[^1].Hash);
        chain.RemoveRange(4, 2);
        var result = AuditVerifier.Verify(chain, head);
        Assert.False(result.IsValid);
        Assert.Contains("removed from the end", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_TruncatedTail_WithoutHead_CannotBeSeen()
    {
        // Documented limit of a bare hash chain: a shorter log is still a valid log.
        var chain = Chain(6);
        chain.RemoveRange(4, 2);
        Assert.True(AuditVerifier.Verify(chain).IsValid);
    }

    [Fact]
    public void Verify_RewrittenLogAtRecordedHead_Fails()
    {
        var original = Chain(4);
        var head = new AuditHead(4, original[^1].Hash);
        var forged = Chain(4, actor: "forger");
        var result = AuditVerifier.Verify(forged, head);
        Assert.False(result.IsValid);
    }

    [Fact]
    public void Verify_LongerLogThanHead_IsValid()
    {
        var chain = Chain(6);
        Assert.True(AuditVerifier.Verify(chain, new AuditHead(3, chain[2].Hash)).IsValid);
    }

    [Fact]
    public void AuditHead_RoundTripsThroughText()
    {
        var head = new AuditHead(42, new string('a', 64));
        Assert.Equal(head, AuditHead.Parse(head.ToString()));
        Assert.Throws<FormatException>(() => AuditHead.Parse("42:xyz"));
    }

    [Fact]
    public void ComputeHash_NullAndEmptyDetails_Differ() =>
        Assert.NotEqual(
            AuditChain.ComputeHash(Record("a") with { Details = null }, 1, AuditChain.GenesisHash),
            AuditChain.ComputeHash(Record("a") with { Details = string.Empty }, 1, AuditChain.GenesisHash));

    private static void AssertFailsAt(List<AuditEvent> chain, long sequence, string problem)
    {
        var result = AuditVerifier.Verify(chain);
        Assert.False(result.IsValid);
        Assert.Equal(sequence, result.FailedAtSequence);
        Assert.Contains(problem, result.Problem, StringComparison.Ordinal);
    }

    private static List<AuditEvent> Chain(int count, string actor = "alice")
    {
        var events = new List<AuditEvent>();
        var previous = AuditChain.GenesisHash;
        for (var i = 1; i <= count; i++)
        {
            var e = AuditChain.Seal(Record($"key.rotate{i}") with { Actor = actor }, i, previous);
            events.Add(e);
            previous = e.Hash;
        }

        return events;
    }

    private static AuditRecord Record(string action) =>
        new(new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero), "alice", action, "tenants/h42", 1, 2, "success", "reason: scheduled");
}
