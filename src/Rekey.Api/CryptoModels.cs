namespace Rekey.Api;

/// <summary>One plaintext to encrypt.</summary>
/// <param name="Plaintext">The bytes, base64.</param>
/// <param name="Context">The encryption context, bound into the ciphertext; decrypt needs the same.</param>
public sealed record EncryptItem(string? Plaintext = null, string? Context = null);

/// <summary>Body of <c>POST /v1/encrypt/{name}</c>: one item inline, or <c>items</c> for a batch.</summary>
/// <param name="Plaintext">The bytes, base64 (single form).</param>
/// <param name="Context">The encryption context (single form).</param>
/// <param name="Items">The batch form.</param>
public sealed record EncryptRequest(string? Plaintext = null, string? Context = null, IReadOnlyList<EncryptItem>? Items = null);

/// <summary>One ciphertext to decrypt.</summary>
/// <param name="Ciphertext">The envelope's text form, <c>rekey:v&lt;N&gt;:...</c>.</param>
/// <param name="Context">The context it was encrypted with.</param>
public sealed record DecryptItem(string? Ciphertext = null, string? Context = null);

/// <summary>Body of <c>POST /v1/decrypt/{name}</c>.</summary>
/// <param name="Ciphertext">Single form.</param>
/// <param name="Context">Single form.</param>
/// <param name="Items">The batch form.</param>
public sealed record DecryptRequest(string? Ciphertext = null, string? Context = null, IReadOnlyList<DecryptItem>? Items = null);

/// <summary>One ciphertext to re-wrap.</summary>
/// <param name="Ciphertext">The envelope's text form.</param>
public sealed record RewrapItem(string? Ciphertext = null);

/// <summary>Body of <c>POST /v1/rewrap/{name}</c>.</summary>
/// <param name="Ciphertext">Single form.</param>
/// <param name="Items">The batch form.</param>
public sealed record RewrapRequest(string? Ciphertext = null, IReadOnlyList<RewrapItem>? Items = null);

/// <summary>One data key to make.</summary>
/// <param name="Context">The context the wrapped data key is bound to.</param>
public sealed record DataKeyItem(string? Context = null);

/// <summary>Body of <c>POST /v1/datakey/{name}</c>.</summary>
/// <param name="Context">Single form.</param>
/// <param name="WrappedOnly">True to receive only the wrapped data key (for later use), not its plaintext.</param>
/// <param name="Bytes">Data key length, 16 to 64 (default 32).</param>
/// <param name="Items">The batch form.</param>
public sealed record DataKeyRequest(string? Context = null, bool? WrappedOnly = null, int? Bytes = null, IReadOnlyList<DataKeyItem>? Items = null);

/// <summary>An item's error in a batch, or nothing at all for a single call (which answers with a problem document).</summary>
/// <param name="Code">The stable error code.</param>
/// <param name="Message">What went wrong.</param>
public sealed record ItemError(string Code, string Message);

/// <summary>The result of one crypto item: the fields that apply, or an error.</summary>
/// <param name="Ciphertext">Encrypt, rewrap, data key: the envelope's text form.</param>
/// <param name="Plaintext">Decrypt, data key: the bytes, base64.</param>
/// <param name="Version">The key version the ciphertext is under.</param>
/// <param name="Error">Set instead of the others when the item failed (batches only).</param>
public sealed record CryptoResult(string? Ciphertext = null, string? Plaintext = null, int? Version = null, ItemError? Error = null);

/// <summary>A batch's answer: one result per item, in the same order, and how many failed.</summary>
/// <param name="Results">The results.</param>
/// <param name="Failed">How many results carry an error.</param>
public sealed record BatchResponse(IReadOnlyList<CryptoResult> Results, int Failed);

/// <summary>Body of <c>POST /v1/files/unwrap/{name}</c> and <c>/v1/files/rewrap/{name}</c>.</summary>
/// <param name="Header">The encrypted file's first 1068 bytes (its header), base64; more is ignored.</param>
/// <param name="Context">Unwrap: the encryption context the file was encrypted with.</param>
public sealed record FileHeaderRequest(string? Header = null, string? Context = null);

/// <summary>What the server did with an encrypted file's header.</summary>
/// <param name="Version">The key version that wraps the file's data key (after a re-wrap, the Active one).</param>
/// <param name="DataKey">Unwrap: the file's data key, base64, for decrypting its segments locally.</param>
/// <param name="Header">Rewrap: the new header, base64, to write over the file's first 1068 bytes (only the inactive slot differs).</param>
public sealed record FileHeaderResult(int Version, string? DataKey = null, string? Header = null);
