namespace Rekey.Api;

/// <summary>An error answer in the <c>{"errors":["..."]}</c> shape some clients (Vault's) expect.</summary>
/// <param name="Errors">What went wrong, for a human; never key material or plaintext.</param>
public sealed record ErrorsResponse(IReadOnlyList<string> Errors);
