namespace Rekey.Approvals;

/// <summary>
/// Which operations need approval and from how many. Rules only add up: the rule a key follows is
/// the union of the operations every matching policy (and the server) names, with the largest
/// number of approvers and the shortest time any of them sets, so a narrower policy can never
/// loosen a broader one.
/// </summary>
/// <param name="Operations">The operations held for approval.</param>
/// <param name="Required">Distinct approvers needed, not counting the requester (at least 1).</param>
/// <param name="ExpiresAfter">How long a request waits for them.</param>
public sealed record ApprovalRule(IReadOnlySet<string> Operations, int Required, TimeSpan ExpiresAfter)
{
    /// <summary>How long a request waits when no rule says: 24 hours.</summary>
    public static readonly TimeSpan DefaultExpiry = TimeSpan.FromHours(24);

    /// <summary>No operation needs approval.</summary>
    public static ApprovalRule None { get; } = new(new HashSet<string>(StringComparer.Ordinal), 1, DefaultExpiry);

    /// <summary>True when <paramref name="operation"/> needs approval.</summary>
    public bool Covers(string operation) => Operations.Contains(operation);

    /// <summary>This rule and <paramref name="other"/> together: every operation either names, the stricter figures.</summary>
    public ApprovalRule With(ApprovalRule other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Operations.Count == 0)
        {
            return this;
        }

        if (Operations.Count == 0)
        {
            return other;
        }

        var operations = new HashSet<string>(Operations, StringComparer.Ordinal);
        operations.UnionWith(other.Operations);
        return new ApprovalRule(operations, Math.Max(Required, other.Required), ExpiresAfter < other.ExpiresAfter ? ExpiresAfter : other.ExpiresAfter);
    }
}
