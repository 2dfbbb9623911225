using Rekey.Testing;

namespace Rekey.Providers.Pkcs11.Tests;

/// <summary>One SoftHSM2 token for every test in this project that needs one.</summary>
[CollectionDefinition(nameof(SoftHsm))]
public sealed class SoftHsmCollection : ICollectionFixture<SoftHsm>;
