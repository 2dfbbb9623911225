namespace Rekey.Audit;

/// <summary>The outcome of verifying an audit log.</summary>
/// <param name="IsValid">True when every check passed.</param>
/// <param name="EventCount">How many events were read.</param>
/// <param name="Head">The last event's sequence and hash, if there were events.</param>
/// <param name="FailedAtSequence">The sequence number where verification failed, if it did.</param>
/// <param name="Problem">What failed, if anything.</param>
public sealed record AuditVerification(bool IsValid, long EventCount, AuditHead? Head, long? FailedAtSequence, string? Problem)
{
    /// <summary>How many signed checkpoints were verified and found on the chain (witnessed ones included).</summary>
    public int CheckpointCount { get; init; }

    /// <summary>
    /// True when checkpoints were checked against public keys given from outside the store (and
    /// the keys they endorsed); false when the keys came from the store itself, which proves
    /// nothing against someone who can write it.
    /// </summary>
    public bool KeysPinned { get; init; }

    /// <summary>How many checkpoints came from a witness outside the store.</summary>
    public int WitnessedCount { get; init; }

    /// <summary>How many stored signing keys were proven to be wrapped by the root (0 where the root was not available).</summary>
    public int SigningKeysProven { get; init; }
}

/// <summary>What a verification is checked against, beyond the chain itself.</summary>
/// <param name="ExpectedHead">A head recorded earlier that the log must still reach unchanged.</param>
/// <param name="PinnedPublicKeys">
/// Audit-signing public keys (SubjectPublicKeyInfo DER) obtained outside the store. When given,
/// only checkpoints signed by them, or by keys they endorsed in the chain, are accepted, and at
/// least one such checkpoint must exist.
/// </param>
/// <param name="WitnessCheckpoints">Checkpoints read from a witness outside the store; each is an anchor like a stored one.</param>
public sealed record AuditVerifyOptions(
    AuditHead? ExpectedHead = null,
    IReadOnlyList<byte[]>? PinnedPublicKeys = null,
    IReadOnlyList<AuditCheckpoint>? WitnessCheckpoints = null);

/// <summary>
/// Checks a whole audit log from its first event: sequence numbers from 1 without gaps, each
/// event linked to the one before, each hash recomputed, and each signed checkpoint (stored or
/// witnessed) verified and found on the chain. Given a head recorded earlier, also checks that the
/// log still reaches it, which catches a truncated tail.
/// </summary>
/// <remarks>
/// A hash chain alone cannot tell a truncated log from a short one, nor a log rewritten from some
/// event on with fresh hashes by someone with write access. Signed checkpoints help only when the
/// key that verifies them does not come from the same database: pin it (<see cref="AuditVerifyOptions.PinnedPublicKeys"/>).
/// A later signing key is trusted only through an <see cref="AuditKeyEndorsement"/> in the chain,
/// signed by a key already trusted. Checkpoints kept only in the database can be deleted with the
/// tail they cover; a witness outside it (<see cref="IAuditWitness"/>) catches that.
/// </remarks>
public sealed class AuditVerifier
{
    private readonly SortedDictionary<long, List<(AuditCheckpoint Checkpoint, bool Witnessed)>> _checkpoints = [];
    private readonly Dictionary<string, byte[]> _trusted = new(StringComparer.Ordinal);
    private readonly bool _pinned;
    private readonly AuditHead? _expectedHead;
    private int _verifiedCheckpoints;
    private int _witnessed;
    private long _count;
    private AuditEvent? _last;

    /// <summary>
    /// Starts a verification. A head recorded earlier, and signed checkpoints with the public
    /// keys (SubjectPublicKeyInfo DER, by key id) that verify them, are anchors the chain must
    /// pass through unchanged and reach; a checkpoint whose signature does not verify fails the log.
    /// </summary>
    public AuditVerifier(AuditHead? expectedHead = null, IEnumerable<AuditCheckpoint>? checkpoints = null, IReadOnlyDictionary<string, byte[]>? publicKeys = null)
        : this(new AuditVerifyOptions(expectedHead), checkpoints, publicKeys)
    {
    }

    /// <summary>
    /// Starts a verification with pinned keys and witnessed checkpoints. <paramref name="storedPublicKeys"/>
    /// are trusted only when no key is pinned.
    /// </summary>
    public AuditVerifier(AuditVerifyOptions options, IEnumerable<AuditCheckpoint>? storedCheckpoints, IReadOnlyDictionary<string, byte[]>? storedPublicKeys)
    {
        ArgumentNullException.ThrowIfNull(options);
        _expectedHead = options.ExpectedHead;
        if (options.PinnedPublicKeys is { Count: > 0 } pinned)
        {
            _pinned = true;
            foreach (var key in pinned)
            {
                _trusted[AuditKeyId.Of(key)] = key;
            }
        }
        else
        {
            foreach (var (id, key) in storedPublicKeys ?? new Dictionary<string, byte[]>())
            {
                _trusted[id] = key;
            }
        }

        foreach (var checkpoint in storedCheckpoints ?? [])
        {
            AddCheckpoint(checkpoint, witnessed: false);
        }

        foreach (var checkpoint in options.WitnessCheckpoints ?? [])
        {
            AddCheckpoint(checkpoint, witnessed: true);
        }
    }

    /// <summary>The first failure found, if any; once set, later events are ignored.</summary>
    public AuditVerification? Failure { get; private set; }

    /// <summary>Verifies a complete log in one call.</summary>
    public static AuditVerification Verify(IEnumerable<AuditEvent> events, AuditHead? expectedHead = null, IEnumerable<AuditCheckpoint>? checkpoints = null, IReadOnlyDictionary<string, byte[]>? publicKeys = null) =>
        Verify(events, new AuditVerifyOptions(expectedHead), checkpoints, publicKeys);

    /// <summary>Verifies a complete log in one call, with pinned keys and witnessed checkpoints.</summary>
    public static AuditVerification Verify(IEnumerable<AuditEvent> events, AuditVerifyOptions options, IEnumerable<AuditCheckpoint>? checkpoints, IReadOnlyDictionary<string, byte[]>? storedPublicKeys)
    {
        ArgumentNullException.ThrowIfNull(events);
        var verifier = new AuditVerifier(options, checkpoints, storedPublicKeys);
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

        if (_expectedHead is { } head && head.Sequence == e.Sequence && !string.Equals(head.Hash, e.Hash, StringComparison.Ordinal))
        {
            return Fail(e.Sequence, "the event differs from the recorded head at this sequence: the log was rewritten.");
        }

        // A key hand-over extends trust before any checkpoint at this event is checked.
        if (e.Record.Action == AuditKeyEndorsement.Action
            && AuditKeyEndorsement.TryParse(e.Record.Details, out var endorsement)
            && _trusted.TryGetValue(endorsement.PreviousKeyId, out var previous)
            && endorsement.VerifyWith(previous))
        {
            _trusted[endorsement.KeyId] = endorsement.PublicKey;
        }

        if (_checkpoints.Remove(e.Sequence, out var anchors))
        {
            foreach (var (checkpoint, witnessed) in anchors)
            {
                if (Forged(checkpoint, witnessed) is { } forged)
                {
                    return Fail(e.Sequence, forged);
                }

                if (!string.Equals(checkpoint.Hash, e.Hash, StringComparison.Ordinal))
                {
                    return Fail(e.Sequence, $"the event differs from {What(witnessed)} at this sequence: the log was rewritten.");
                }

                Count(witnessed);
            }
        }

        _count++;
        _last = e;
        return true;
    }

    /// <summary>Finishes: reports the first failure, or a truncation behind an anchor, or a pinned key with no checkpoint, or success.</summary>
    public AuditVerification Complete()
    {
        if (Failure is not null)
        {
            return Failure;
        }

        AuditHead? head = _last is null ? null : new AuditHead(_last.Sequence, _last.Hash);
        var end = _last?.Sequence ?? 0;
        foreach (var (sequence, anchors) in _checkpoints)
        {
            var (checkpoint, witnessed) = anchors[0];
            var problem = Forged(checkpoint, witnessed)
                ?? $"the log ends at sequence {end} but {What(witnessed)} is at sequence {sequence}: events were removed from the end.";
            return new AuditVerification(false, _count, head, end + 1, problem) { KeysPinned = _pinned };
        }

        if (_expectedHead is { } expected && expected.Sequence > end)
        {
            return new AuditVerification(false, _count, head, end + 1, $"the log ends at sequence {end} but the recorded head is at sequence {expected.Sequence}: events were removed from the end.") { KeysPinned = _pinned };
        }

        if (_pinned && _count > 0 && _verifiedCheckpoints == 0)
        {
            return new AuditVerification(false, _count, head, null, "no checkpoint signed by the pinned audit-signing key (or a key it endorsed) is on this log: it may have been rewritten with its checkpoints removed.") { KeysPinned = true };
        }

        return new AuditVerification(true, _count, head, null, null) { CheckpointCount = _verifiedCheckpoints, KeysPinned = _pinned, WitnessedCount = _witnessed };
    }

    private void AddCheckpoint(AuditCheckpoint checkpoint, bool witnessed)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (!_checkpoints.TryGetValue(checkpoint.Sequence, out var list))
        {
            _checkpoints[checkpoint.Sequence] = list = [];
        }

        list.Add((checkpoint, witnessed));
    }

    private string? Forged(AuditCheckpoint checkpoint, bool witnessed)
    {
        if (!_trusted.TryGetValue(checkpoint.KeyId, out var key))
        {
            return _pinned
                ? $"{What(witnessed)} at sequence {checkpoint.Sequence} is signed by {checkpoint.KeyId}, which is neither the pinned audit-signing key nor endorsed by it."
                : $"{What(witnessed)} at sequence {checkpoint.Sequence} is signed by {checkpoint.KeyId}, an unknown audit-signing key.";
        }

        return checkpoint.VerifyWith(key)
            ? null
            : $"{What(witnessed)} at sequence {checkpoint.Sequence} does not verify with the audit-signing key {checkpoint.KeyId}: it is forged or altered.";
    }

    private void Count(bool witnessed)
    {
        _verifiedCheckpoints++;
        if (witnessed)
        {
            _witnessed++;
        }
    }

    private static string What(bool witnessed) => witnessed ? "a witnessed checkpoint" : "a signed checkpoint";

    private bool Fail(long sequence, string problem)
    {
        Failure = new AuditVerification(false, _count, _last is null ? null : new AuditHead(_last.Sequence, _last.Hash), sequence, $"Event {sequence}: {problem}") { KeysPinned = _pinned };
        return false;
    }
}
