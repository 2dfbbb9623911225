namespace Rekey.Root;

/// <summary>
/// The root of the hierarchy: wraps and unwraps key-version material (256-bit KEKs). Material is
/// stored only in wrapped form; the root key itself never leaves its provider.
/// </summary>
/// <remarks>
/// The binding in both methods is associated data naming the slot the material
/// belongs to (key and version), so wrapped material copied to another slot does not unwrap.
/// Providers backed by an HSM or a cloud KMS are asynchronous, hence the signatures.
/// </remarks>
public interface IRootKeyProvider : IAsyncDisposable
{
    /// <summary>A stable, non-secret identifier of the root key (a fingerprint), stored beside each wrapped material.</summary>
    string KeyId { get; }

    /// <summary>Wraps material under the root key; <see cref="Errors.RekeyErrorCode.RootKeyUnavailable"/> when it cannot be used now.</summary>
    ValueTask<byte[]> WrapAsync(ReadOnlyMemory<byte> material, ReadOnlyMemory<byte> binding, CancellationToken cancellationToken = default);

    /// <summary>
    /// Unwraps material. The caller owns the returned buffer and must zero it after use. Throws
    /// <see cref="Errors.RekeyException"/> with <see cref="Errors.RekeyErrorCode.RootKeyRefused"/>
    /// when the material was not wrapped by this root key for this binding (wrong root, wrong
    /// slot, altered), and with <see cref="Errors.RekeyErrorCode.RootKeyUnavailable"/> when the
    /// root cannot be used now (an HSM busy, a KMS throttling or unreachable): callers treat only
    /// the first as evidence about the material.
    /// </summary>
    ValueTask<byte[]> UnwrapAsync(ReadOnlyMemory<byte> wrapped, ReadOnlyMemory<byte> binding, CancellationToken cancellationToken = default);
}
