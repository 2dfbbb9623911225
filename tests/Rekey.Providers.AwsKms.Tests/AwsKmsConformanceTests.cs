using Rekey.Root;
using Rekey.Storage.Sqlite.Tests;
using Rekey.Testing;

namespace Rekey.Providers.AwsKms.Tests;

/// <summary>
/// The whole store conformance suite, cross-process tests included, on SQLite under a root key in
/// (moto's) AWS KMS: every KEK and the audit-signing key sealed by KMS.
/// </summary>
[Collection(nameof(MotoServer))]
public sealed class AwsKmsConformanceTests(MotoServer moto) : SqliteConformanceTests
{
    protected override string RootArgument => moto.Spec;

    // KMS decides the size of its ciphertext blobs.
    protected override int? WrappedMaterialLength => null;

    protected override IRootKeyProvider CreateRoot() => AwsKmsRootKeyProvider.OpenAsync(AwsKmsRootOptions.Parse(moto.Spec)).GetAwaiter().GetResult();
}
