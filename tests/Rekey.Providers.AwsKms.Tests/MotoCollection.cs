using Rekey.Testing;

namespace Rekey.Providers.AwsKms.Tests;

/// <summary>One moto_server (and KMS key) for every test in this project.</summary>
[CollectionDefinition(nameof(MotoServer))]
public sealed class MotoCollection : ICollectionFixture<MotoServer>;
