using Rekey.Errors;
using Rekey.Root;

namespace Rekey.Providers.Pkcs11;

/// <summary>
/// Where the PKCS#11 root key is: the module (library), the token (by label), the key (by label)
/// and the user PIN, read from an environment variable or a file and never given on a command line.
/// </summary>
public sealed class Pkcs11RootOptions
{
    /// <summary>The PKCS#11 module, for example <c>/usr/lib/softhsm/libsofthsm2.so</c>.</summary>
    public required string Library { get; init; }

    /// <summary>The token's label.</summary>
    public required string Token { get; init; }

    /// <summary>The AES-256 key's label (<c>CKA_LABEL</c>).</summary>
    public required string KeyLabel { get; init; }

    /// <summary>The user PIN. Held only to log in; never logged or shown.</summary>
    public required string Pin { get; init; }

    /// <summary>
    /// Parses <c>pkcs11:library=PATH;token=LABEL;key=LABEL;pin-env=VAR</c> (or <c>pin-file=PATH</c>
    /// instead of <c>pin-env</c>), reading the PIN. <c>InvalidRequest</c> naming the missing piece.
    /// </summary>
    public static Pkcs11RootOptions Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var fields = RootSetting.Fields(spec, "pkcs11:", "A PKCS#11 root is written pkcs11:library=PATH;token=LABEL;key=LABEL;pin-env=VAR.", "library", "token", "key", "pin-env", "pin-file");
        var missing = new[] { "library", "token", "key" }.Where(f => !fields.ContainsKey(f)).ToList();
        if (fields.ContainsKey("pin-env") == fields.ContainsKey("pin-file"))
        {
            missing.Add("pin-env or pin-file (exactly one)");
        }

        if (missing.Count > 0)
        {
            throw Invalid("The PKCS#11 root needs " + string.Join(", ", missing) + ".");
        }

        return new Pkcs11RootOptions { Library = fields["library"], Token = fields["token"], KeyLabel = fields["key"], Pin = ReadPin(fields) };
    }

    private static string ReadPin(IReadOnlyDictionary<string, string> fields)
    {
        if (fields.TryGetValue("pin-env", out var variable))
        {
            return Environment.GetEnvironmentVariable(variable) is { Length: > 0 } pin
                ? pin
                : throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The PKCS#11 PIN is read from the environment variable {variable}, which is not set.");
        }

        var path = fields["pin-file"];
        try
        {
            return File.ReadAllText(path).TrimEnd('\r', '\n') is { Length: > 0 } pin
                ? pin
                : throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The PKCS#11 PIN file {path} is empty.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RekeyException(RekeyErrorCode.RootKeyUnavailable, $"The PKCS#11 PIN file {path} cannot be read: {e.GetType().Name}.");
        }
    }

    private static RekeyException Invalid(string message) => new(RekeyErrorCode.InvalidRequest, message);
}
