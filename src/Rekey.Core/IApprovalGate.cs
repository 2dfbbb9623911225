using Rekey.Approvals;

namespace Rekey;

/// <summary>
/// Dual control, asked before every operation that can be held for approval. The lifecycle
/// library's <c>ApprovalGate</c> reads the rules from the policies and the server's configuration.
/// </summary>
public interface IApprovalGate
{
    /// <summary>
    /// Lets the operation run, or stops it. Without an approval in <paramref name="change"/>, when
    /// the rule holds <paramref name="request"/>'s operation: records a pending approval and throws
    /// <see cref="Errors.RekeyErrorCode.ApprovalPending"/> with its id. With one: returns when that approval
    /// is approved, unexpired and for exactly this request (the change then spends it); else throws
    /// <see cref="Errors.RekeyErrorCode.ApprovalRefused"/>.
    /// </summary>
    Task CheckAsync(ApprovalRequest request, ChangeContext? change, CancellationToken cancellationToken = default);
}
