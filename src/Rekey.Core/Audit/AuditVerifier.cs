namespace Rekey.Audit;

/// <summary>The outcome of verifying an audit log.</summary>
/// <param name="IsValid">True when every check passed.</param>
/// <param name="EventCount">How many events were read.</param>
/// <param name="Head">The last event's sequence and hash, if there were events.</param>
/// <param name="FailedAtSequence">The sequence number where verification failed, if it did.</param>
/// <param name="Problem">What failed, if anything.</param>
public sealed record AuditVerification(bool IsValid, long EventCount, AuditHead? Head, long? FailedAtSequence, string? Problem);

/// <summary>
/// Checks a whole audit log from its first event: sequence numbers from 1 without gaps, each
/// event linked to the one before, each hash recomputed. Given a head recorded earlier, also
/// checks that the log still reaches it, which catches a truncated tail.
/// </summary>
/// <remarks>
/// A hash chain alone cannot tell a truncated log from a short one, nor a log rewritten from some
/// event on with fresh hashes by someone with write access. A head kept elsewhere catches the
/// first; signed checkpoints (issued by the server) catch the second.
/// </remarks>
public sealed class AuditVerifier
{
    private readonly AuditHead? _expectedHead;
    private long _count;
    private AuditEvent? _last;
    private bool _headSeen;

    /// <summary>Starts a verification; pass a head recorded earlier to detect truncation.</summary>
    public AuditVerifier(AuditHead? expectedHead = null) => _expectedHead = expectedHead;

    /// <summary>The first failure found, if any; once set, later events are ignored.</summary>
    public AuditVerification? Failure { get; private set; }

    /// <summary>Verifies a complete log in one call.</summary>
    public static AuditVerification Verify(IEnumerable<AuditEvent> events, AuditHead? expectedHead = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        var verifier = new AuditVerifier(expectedHead);
        foreach (var e in events)
        {
            if (!verifier.Add(e))
            {
                break;
            }
        }

        return verifier.Complete();
    }

    /// <summary>Checks the next event in sequence order; false once the log has failed.</summary>
    public bool Add(AuditEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (Failure is not null)
        {
            return false;
        }

        var expectedSequence = (_last?.Sequence ?? 0) + 1;
        var expectedPrevious = _last?.Hash ?? AuditChain.GenesisHash;
        if (e.Sequence != expectedSequence)
        {
            return Fail(e.Sequence, $"expected sequence {expectedSequence} but found {e.Sequence}: an event was removed, inserted or moved.");
        }

        if (!string.Equals(e.PreviousHash, expectedPrevious, StringComparison.Ordinal))
        {
            return Fail(e.Sequence, "its previous-hash does not match the event before it: the chain was broken.");
        }

        if (!string.Equals(AuditChain.ComputeHash(e.Record, e.Sequence, e.PreviousHash), e.Hash, StringComparison.Ordinal))
        {
            return Fail(e.Sequence, "its hash does not match its contents: the event was edited.");
        }

        if (_expectedHead is { } head && head.Sequence == e.Sequence)
        {
            if (!string.Equals(head.Hash, e.Hash, StringComparison.Ordinal))
            {
                return Fail(e.Sequence, "the event at the recorded head has a different hash: the log was rewritten.");
            }

            _headSeen = true;
        }

        _count++;
        _last = e;
        return true;
    }

    /// <summary>Finishes: reports the first failure, or a truncation behind the expected head, or success.</summary>
    public AuditVerification Complete()
    {
        if (Failure is not null)
        {
            return Failure;
        }

        AuditHead? head = _last is null ? null : new AuditHead(_last.Sequence, _last.Hash);
        if (_expectedHead is { } expected && !_headSeen)
        {
            return new AuditVerification(
                false,
                _count,
                head,
                (_last?.Sequence ?? 0) + 1,
                $"the log ends at sequence {_last?.Sequence ?? 0} but a head at sequence {expected.Sequence} was recorded: events were removed from the end.");
        }

        return new AuditVerification(true, _count, head, null, null);
    }

    private bool Fail(long sequence, string problem)
    {
        Failure = new AuditVerification(false, _count, _last is null ? null : new AuditHead(_last.Sequence, _last.Hash), sequence, $"Event {sequence}: {problem}");
        return false;
    }
}
