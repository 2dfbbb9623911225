using Rekey.Testing;

namespace Rekey.Cli.Tests;

/// <summary>One SoftHSM2 token for the CLI tests that root a store in it.</summary>
[CollectionDefinition(nameof(SoftHsm))]
public sealed class SoftHsmCollection : ICollectionFixture<SoftHsm>;
