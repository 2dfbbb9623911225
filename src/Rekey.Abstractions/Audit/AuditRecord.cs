namespace Rekey.Audit;

/// <summary>An audit event before the store gives it a sequence number and seals it into the chain.</summary>
/// <param name="Time">When it happened.</param>
/// <param name="Actor">Who did it (a principal or token id; never a secret).</param>
/// <param name="Action">What was done, for example <c>key.rotate</c>.</param>
/// <param name="Key">The key concerned, if any.</param>
/// <param name="FromVersion">The version acted on or demoted, if any.</param>
/// <param name="ToVersion">The version created or promoted, if any.</param>
/// <param name="Outcome"><c>success</c>, or <c>refused:&lt;code&gt;</c>.</param>
/// <param name="Details">What the system says about it (new state, job id); never key material.</param>
/// <remarks>
/// What a caller supplies or the network tells (reason, request id, client address, a token id
/// presented with a wrong secret) is kept in fields of its own, never pasted into
/// <paramref name="Details"/>, so a reason cannot pass itself off as a request id.
/// </remarks>
public sealed record AuditRecord(
    DateTimeOffset Time,
    string Actor,
    string Action,
    string? Key,
    int? FromVersion,
    int? ToVersion,
    string Outcome,
    string? Details)
{
    /// <summary>The reason the caller gave, as given.</summary>
    public string? Reason { get; init; }

    /// <summary>The request that asked for it, when it came over the network.</summary>
    public string? RequestId { get; init; }

    /// <summary>The client's address, when it came over the network.</summary>
    public string? Client { get; init; }

    /// <summary>
    /// For a refused authentication: the token id that was presented (with a wrong secret, or
    /// unknown). The actor is then <c>anonymous</c>: nobody proved to be that token.
    /// </summary>
    public string? PresentedTokenId { get; init; }

    /// <summary>
    /// Not part of the event: the approval the change this event records carries out. The store
    /// marks it executed in the same transaction, and refuses the whole change (writing nothing)
    /// unless it was approved and not yet executed. The event's details name it.
    /// </summary>
    public string? SpendsApproval { get; init; }
}

/// <summary>An event as stored: the record, its place in the chain and the hashes that link it.</summary>
/// <param name="Sequence">Position in the log, from 1, without gaps.</param>
/// <param name="Record">What happened; its time is kept to the millisecond.</param>
/// <param name="PreviousHash">The hash of the event before (64 hex zeros for the first).</param>
/// <param name="Hash">SHA-256 over the previous hash and this event's fields.</param>
public sealed record AuditEvent(long Sequence, AuditRecord Record, string PreviousHash, string Hash);

/// <summary>The head of the chain (last sequence and its hash): keep it elsewhere to detect a truncated log.</summary>
/// <param name="Sequence">The last event's sequence number.</param>
/// <param name="Hash">The last event's hash.</param>
public readonly record struct AuditHead(long Sequence, string Hash)
{
    /// <summary>Parses <c>&lt;sequence&gt;:&lt;hash&gt;</c>, the form <see cref="ToString"/> writes.</summary>
    public static AuditHead Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 1
            || !long.TryParse(text.AsSpan(0, colon), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var sequence)
            || text.Length - colon - 1 != 64
            || text.AsSpan(colon + 1).ContainsAnyExcept("0123456789abcdef"))
        {
            throw new FormatException("An audit head is '<sequence>:<64 lowercase hex digits>'.");
        }

        return new AuditHead(sequence, text[(colon + 1)..]);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)}:{Hash}";
}
