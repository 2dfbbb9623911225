using System.Text.Json;
using Rekey.Audit;
using Rekey.Root;
using Rekey.Testing;

namespace Rekey.Core.Tests.Audit;

/// <summary>Signed checkpoints: the ECDSA primitive against Wycheproof, signing, and verification of the chain against them.</summary>
public sealed class AuditCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rekey-checkpoint-").FullName;

    [Fact]
    public void VerifyP256_EveryWycheproofP1363Vector_GivesTheExpectedResult()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Vectors, "wycheproof", "ecdsa_secp256r1_sha256_p1363_test.json")));
        var count = 0;
        var failures = new List<string>();
        foreach (var group in doc.RootElement.GetProperty("testGroups").EnumerateArray())
        {
            var key = Hex.Bytes(group.GetProperty("publicKeyDer").GetString()!);
            foreach (var t in group.GetProperty("tests").EnumerateArray())
            {
                count++;
                var valid = AuditCheckpoint.VerifyP256(key, Hex.Bytes(t.GetProperty("msg").GetString()!), Hex.Bytes(t.GetProperty("sig").GetString()!));
                if (valid != (t.GetProperty("result").GetString() == "valid"))
                {
                    failures.Add($"tc{t.GetProperty("tcId").GetInt32()} {t.GetProperty("comment").GetString()}");
                }
            }
        }

        Assert.Equal(262, count);
        Assert.Empty(failures);
    }

    [Fact]
    public async Task Signer_WrappedByRoot_ReopensAndSignsVerifiably()
    {
        using var root = LocalRootKeyProvider.CreateKeyFile(Path.Combine(_dir, "root.key"));
        var (signer, wrapped) = await AuditSigner.CreateAsync(root);
        using (signer)
        {
            using var reopened = await AuditSigner.OpenAsync(root, signer.KeyId, wrapped);
            Assert.Equal(signer.PublicKey, reopened.PublicKey);
            var checkpoint = reopened.Sign(new AuditHead(7, new string('a', 64)), DateTimeOffset.UnixEpoch);
            Assert.Equal(64, checkpoint.Signature.Length);
            Assert.True(checkpoint.VerifyWith(signer.PublicKey));
            Assert.False((checkpoint with { Sequence = 8 }).VerifyWith(signer.PublicKey));
            Assert.False((checkpoint with { Hash = new string('b', 64) }).VerifyWith(signer.PublicKey));
        }
    }

    [Fact]
    public async Task Verify_WithCheckpoints_CatchesWhatABareChainCannot()
    {
        using var root = LocalRootKeyProvider.CreateKeyFile(Path.Combine(_dir, "root.key"));
        var (signer, _) = await AuditSigner.CreateAsync(root);
        using var _s = signer;
        var keys = new Dictionary<string, byte[]> { [signer.KeyId] = signer.PublicKey };
        var chain = Chain(6, "alice");
        var checkpoint = signer.Sign(new AuditHead(4, chain[3].Hash), DateTimeOffset.UnixEpoch);

        Assert.True(AuditVerifier.Verify(chain, checkpoints: [checkpoint], publicKeys: keys).IsValid);

        // Truncated behind the checkpoint: a bare chain still looks valid.
        Assert.True(AuditVerifier.Verify(chain.Take(3)).IsValid);
        Assert.Contains("removed from the end", AuditVerifier.Verify(chain.Take(3), checkpoints: [checkpoint], publicKeys: keys).Problem, StringComparison.Ordinal);

        // Rewritten from the start with fresh hashes: a bare chain still looks valid.
        var forged = Chain(6, "mallory");
        Assert.True(AuditVerifier.Verify(forged).IsValid);
        var rewritten = AuditVerifier.Verify(forged, checkpoints: [checkpoint], publicKeys: keys);
        Assert.False(rewritten.IsValid);
        Assert.Equal(4, rewritten.FailedAtSequence);

        // A forged checkpoint over the forged chain does not verify without the signing key.
        var fake = checkpoint with { Hash = forged[3].Hash };
        Assert.Contains("forged or altered", AuditVerifier.Verify(forged, checkpoints: [fake], publicKeys: keys).Problem, StringComparison.Ordinal);
        Assert.False(AuditVerifier.Verify(chain, checkpoints: [checkpoint], publicKeys: new Dictionary<string, byte[]>()).IsValid);
    }

    [Fact]
    public async Task Verify_Pinned_FollowsOnlyEndorsementsSignedByATrustedKey()
    {
        using var root = LocalRootKeyProvider.CreateKeyFile(Path.Combine(_dir, "root.key"));
        var (first, _) = await AuditSigner.CreateAsync(root);
        var (second, _) = await AuditSigner.CreateAsync(root);
        var (intruder, _) = await AuditSigner.CreateAsync(root);
        using var _1 = first;
        using var _2 = second;
        using var _3 = intruder;
        var pinned = new AuditVerifyOptions(PinnedPublicKeys: [first.PublicKey]);

        var endorsed = Chain(4, "alice", (3, AuditKeyEndorsement.Action, first.Endorse(second).ToDetails()));
        var byNew = second.Sign(new AuditHead(4, endorsed[3].Hash), DateTimeOffset.UnixEpoch);
        var byOld = first.Sign(new AuditHead(2, endorsed[1].Hash), DateTimeOffset.UnixEpoch);
        var ok = AuditVerifier.Verify(endorsed, pinned, [byOld, byNew], null);
        Assert.True(ok.IsValid, ok.Problem);
        Assert.True(ok.KeysPinned);
        Assert.Equal(2, ok.CheckpointCount);

        // An endorsement signed by a key nobody trusts extends nothing.
        var selfMade = Chain(4, "alice", (3, AuditKeyEndorsement.Action, intruder.Endorse(second).ToDetails()));
        var refused = AuditVerifier.Verify(selfMade, pinned, [second.Sign(new AuditHead(4, selfMade[3].Hash), DateTimeOffset.UnixEpoch)], null);
        Assert.Contains("neither the pinned audit-signing key nor endorsed by it", refused.Problem, StringComparison.Ordinal);

        // A checkpoint by the new key before its endorsement is in the chain is refused.
        var early = second.Sign(new AuditHead(2, endorsed[1].Hash), DateTimeOffset.UnixEpoch);
        Assert.False(AuditVerifier.Verify(endorsed, pinned, [early], null).IsValid);

        // Pinned but no checkpoint at all: nothing vouches for the log.
        Assert.Contains("no checkpoint signed by the pinned", AuditVerifier.Verify(endorsed, pinned, [], null).Problem, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task WitnessLine_RoundTrips_AndRefusesAnythingElse()
    {
        using var root = LocalRootKeyProvider.CreateKeyFile(Path.Combine(_dir, "root.key"));
        var (signer, _) = await AuditSigner.CreateAsync(root);
        using var _s = signer;
        var checkpoint = signer.Sign(new AuditHead(9, new string('c', 64)), DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_000_123));
        var path = Path.Combine(_dir, "witness.jsonl");
        var witness = new FileAuditWitness(path);
        await witness.WriteAsync(checkpoint);
        await witness.WriteAsync(checkpoint with { Sequence = 10 });

        var read = AuditWitnessLine.ReadFile(path);
        Assert.Equal(2, read.Count);
        Assert.Equal(checkpoint.Time, read[0].Time);
        Assert.True(read[0].VerifyWith(signer.PublicKey));
        Assert.Equal(System.IO.UnixFileMode.UserRead | System.IO.UnixFileMode.UserWrite, File.GetUnixFileMode(path));

        Assert.Null(AuditWitnessLine.Parse("""{"type":"other","sequence":1}"""));
        Assert.Null(AuditWitnessLine.Parse("not json"));
        File.AppendAllText(path, "garbage\n");
        Assert.Contains("Line 3", Assert.Throws<FormatException>(() => AuditWitnessLine.ReadFile(path)).Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<AuditEvent> Chain(int count, string actor, (int Sequence, string Action, string Details)? special = null)
    {
        var events = new List<AuditEvent>();
        var previous = AuditChain.GenesisHash;
        for (var i = 1; i <= count; i++)
        {
            var record = special is { } s && s.Sequence == i
                ? new AuditRecord(DateTimeOffset.UnixEpoch, actor, s.Action, null, null, null, "success", s.Details)
                : new AuditRecord(DateTimeOffset.UnixEpoch, actor, "key.rotate", "k", i, i + 1, "success", null);
            var e = AuditChain.Seal(record, i, previous);
            events.Add(e);
            previous = e.Hash;
        }

        return events;
    }
}
