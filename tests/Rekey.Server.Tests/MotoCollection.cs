using Rekey.Testing;

namespace Rekey.Server.Tests;

/// <summary>One moto_server for the server tests rooted in AWS KMS.</summary>
[CollectionDefinition(nameof(MotoServer))]
public sealed class MotoCollection : ICollectionFixture<MotoServer>;
