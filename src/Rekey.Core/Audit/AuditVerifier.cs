namespace Rekey.Audit;

/// <summary>The outcome of verifying an audit log.</summary>
/// <param name="IsValid">True when every check passed.</param>
/// <param name="EventCount">How many events were read.</param>
/// <param name="Head">The last event's sequence and hash, if there were events.</param>
/// <param name="FailedAtSequence">The sequence number where verification failed, if it did.</param>
/// <param name="Problem">What failed, if anything.</param>
public sealed record AuditVerification(bool IsValid, long EventCount, AuditHead? Head, long? FailedAtSequence, string? Problem)
{
    /// <summary>How many signed checkpoints were verified and found on the chain.</summary>
    public int CheckpointCount { get; init; }
}

/// <summary>
/// Checks a whole audit log from its first event: sequence numbers from 1 without gaps, each
/// event linked to the one before, each hash recomputed. Given a head recorded earlier, also
/// checks that the log still reaches it, which catches a truncated tail.
/// </summary>
/// <remarks>
/// A hash chain alone cannot tell a truncated log from a short one, nor a log rewritten from some
/// event on with fresh hashes by someone with write access. A head kept elsewhere catches both up
/// to that head; signed checkpoints (<see cref="AuditCheckpoint"/>) do the same without trusting
/// whoever kept the head, since only the audit-signing key can make them.
/// </remarks>
public sealed class AuditVerifier
{
    private readonly SortedDictionary<long, (string Hash, string What)> _anchors = [];
    private readonly long _lastAnchor;
    private readonly int _checkpoints;
    private long _count;
    private AuditEvent? _last;

    /// <summary>
    /// Starts a verification. A head recorded earlier, and signed checkpoints with the public
    /// keys (SubjectPublicKeyInfo DER, by key id) that verify them, are anchors the chain must
    /// pass through unchanged and reach; a checkpoint whose signature does not verify fails the log.
    /// </summary>
    public AuditVerifier(AuditHead? expectedHead = null, IEnumerable<AuditCheckpoint>? checkpoints = null, IReadOnlyDictionary<string, byte[]>? publicKeys = null)
    {
        if (expectedHead is { } head)
        {
            _anchors[head.Sequence] = (head.Hash, "the recorded head");
        }

        foreach (var checkpoint in checkpoints ?? [])
        {
            if (publicKeys is null || !publicKeys.TryGetValue(checkpoint.KeyId, out var publicKey) || !checkpoint.VerifyWith(publicKey))
            {
                Failure = new AuditVerification(false, 0, null, checkpoint.Sequence, $"The checkpoint at sequence {checkpoint.Sequence} does not verify with the audit-signing key {checkpoint.KeyId}: it is forged or altered.");
                break;
            }

            if (_anchors.TryGetValue(checkpoint.Sequence, out var other) && !string.Equals(other.Hash, checkpoint.Hash, StringComparison.Ordinal))
            {
                Failure = new AuditVerification(false, 0, null, checkpoint.Sequence, $"Two anchors at sequence {checkpoint.Sequence} disagree.");
                break;
            }

            _anchors[checkpoint.Sequence] = (checkpoint.Hash, "a signed checkpoint");
            _checkpoints++;
        }

        _lastAnchor = _anchors.Count == 0 ? 0 : _anchors.Keys.Max();
    }

    /// <summary>The first failure found, if any; once set, later events are ignored.</summary>
    public AuditVerification? Failure { get; private set; }

    /// <summary>Verifies a complete log in one call.</summary>
    public static AuditVerification Verify(IEnumerable<AuditEvent> events, AuditHead? expectedHead = null, IEnumerable<AuditCheckpoint>? checkpoints = null, IReadOnlyDictionary<string, byte[]>? publicKeys = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        var verifier = new AuditVerifier(expectedHead, checkpoints, publicKeys);
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

        if (_anchors.TryGetValue(e.Sequence, out var anchor) && !string.Equals(anchor.Hash, e.Hash, StringComparison.Ordinal))
        {
            return Fail(e.Sequence, $"the event differs from {anchor.What} at this sequence: the log was rewritten.");
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
        var end = _last?.Sequence ?? 0;
        if (_lastAnchor > end)
        {
            return new AuditVerification(
                false,
                _count,
                head,
                end + 1,
                $"the log ends at sequence {end} but {_anchors[_lastAnchor].What} is at sequence {_lastAnchor}: events were removed from the end.");
        }

        return new AuditVerification(true, _count, head, null, null) { CheckpointCount = _checkpoints };
    }

    private bool Fail(long sequence, string problem)
    {
        Failure = new AuditVerification(false, _count, _last is null ? null : new AuditHead(_last.Sequence, _last.Hash), sequence, $"Event {sequence}: {problem}");
        return false;
    }
}
