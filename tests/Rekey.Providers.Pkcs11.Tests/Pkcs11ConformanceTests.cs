using Rekey.Root;
using Rekey.Storage.Sqlite.Tests;
using Rekey.Testing;

namespace Rekey.Providers.Pkcs11.Tests;

/// <summary>
/// The whole store conformance suite, cross-process tests included, on SQLite under the root key
/// in the SoftHSM2 token: every KEK and the audit-signing key wrapped inside the token.
/// </summary>
[Collection(nameof(SoftHsm))]
public sealed class Pkcs11ConformanceTests(SoftHsm hsm) : SqliteConformanceTests
{
    private const string PinVariable = "REKEY_TEST_PKCS11_PIN";

    protected override string RootArgument => $"pkcs11:library={hsm.Library};token={SoftHsm.Token};key={SoftHsm.KeyLabel};pin-env={PinVariable}";

    protected override IRootKeyProvider CreateRoot()
    {
        // Worker processes read the PIN from their environment, inherited from this one.
        Environment.SetEnvironmentVariable(PinVariable, SoftHsm.Pin);
        return Pkcs11RootKeyProvider.Open(Pkcs11RootOptions.Parse(RootArgument));
    }
}
