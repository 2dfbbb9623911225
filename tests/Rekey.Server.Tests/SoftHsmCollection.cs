using Rekey.Testing;

namespace Rekey.Server.Tests;

/// <summary>One SoftHSM2 token for the server tests rooted in it.</summary>
[CollectionDefinition(nameof(SoftHsm))]
public sealed class SoftHsmCollection : ICollectionFixture<SoftHsm>;
