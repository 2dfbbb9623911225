using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Storage.Sqlite;
using Rekey.Testing;

namespace Rekey.Providers.Pkcs11.Tests;

/// <summary>The PKCS#11 root against a real SoftHSM2 token.</summary>
[Collection(nameof(SoftHsm))]
public sealed class Pkcs11RootKeyProviderTests(SoftHsm hsm)
{
    private static readonly byte[] Binding = "rekey/kek/v1\0tenants/h42/k\0"u8.ToArray();

    [Fact]
    public async Task WrapsAndUnwraps_InsideTheToken_BoundToTheSlot()
    {
        await using var root = Pkcs11RootKeyProvider.Open(hsm.Options());
        var material = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var wrapped = await root.WrapAsync(material, Binding);
        Assert.Equal(1 + 12 + 32 + 16, wrapped.Length);
        Assert.DoesNotContain(Convert.ToHexString(material), Convert.ToHexString(wrapped), StringComparison.Ordinal);
        Assert.Equal(material, await root.UnwrapAsync(wrapped, Binding));
        Assert.StartsWith("pkcs11:", root.KeyId, StringComparison.Ordinal);

        // Another slot's binding, a flipped byte, a cut, another format: refused, as evidence.
        var flipped = (byte[])wrapped.Clone();
        flipped[20] ^= 1;
        foreach (var (bad, binding) in new[] { (wrapped, "rekey/kek/v1\0tenants/h42/k\0\u0002"u8.ToArray()), (flipped, Binding), (wrapped[..^1], Binding), ([2, .. wrapped[1..]], Binding) })
        {
            var e = await Assert.ThrowsAsync<RekeyException>(async () => await root.UnwrapAsync(bad, binding));
            Assert.True(e.Code == RekeyErrorCode.RootKeyRefused, e.Message);
        }
    }

    [Fact]
    public async Task TheKey_IsGeneratedInTheToken_SensitiveAndNeverExtractable()
    {
        // Through the provider's shared module: finalising a second load would end the others' sessions.
        var factories = new Pkcs11InteropFactories();
        var library = Pkcs11Modules.Acquire(hsm.Library);
        try
        {
            var slot = library.GetSlotList(SlotsType.WithTokenPresent).Single(s => s.GetTokenInfo().Label.Trim() == SoftHsm.Token);
            using var session = slot.OpenSession(SessionType.ReadOnly);
            session.Login(CKU.CKU_USER, SoftHsm.Pin);
            var key = session.FindAllObjects([factories.ObjectAttributeFactory.Create(CKA.CKA_LABEL, SoftHsm.KeyLabel)]).Single();
            var attributes = session.GetAttributeValue(key, [CKA.CKA_SENSITIVE, CKA.CKA_EXTRACTABLE, CKA.CKA_VALUE_LEN]);
            Assert.True(attributes[0].GetValueAsBool());
            Assert.False(attributes[1].GetValueAsBool());
            Assert.Equal(32UL, attributes[2].GetValueAsUlong());
            var value = session.GetAttributeValue(key, [CKA.CKA_VALUE])[0];
            Assert.True(value.CannotBeRead);
        }
        finally
        {
            Pkcs11Modules.Release(hsm.Library);
        }

        await Task.CompletedTask;
    }

    [Fact]
    public async Task TwoRootsOnOneToken_Agree_AndClosingOneLeavesTheOtherWorking()
    {
        var first = Pkcs11RootKeyProvider.Open(hsm.Options());
        await using var second = Pkcs11RootKeyProvider.Open(hsm.Options());
        Assert.Equal(first.KeyId, second.KeyId);
        var wrapped = await first.WrapAsync(new byte[32], Binding);
        await first.DisposeAsync();
        Assert.Equal(new byte[32], await second.UnwrapAsync(wrapped, Binding));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await first.WrapAsync(new byte[32], Binding));
    }

    [Fact]
    public async Task ConcurrentCalls_EachBorrowASession()
    {
        await using var root = Pkcs11RootKeyProvider.Open(hsm.Options());
        await Parallel.ForEachAsync(Enumerable.Range(0, 400), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var material = BitConverter.GetBytes(i).Concat(new byte[28]).ToArray();
            var wrapped = await root.WrapAsync(material, Binding);
            Assert.Equal(material, await root.UnwrapAsync(wrapped, Binding));
        });
    }

    [Fact]
    public void Misconfiguration_NamesTheMissingPiece_AndNeverThePin()
    {
        var wrongPin = Assert.Throws<RekeyException>(() => Pkcs11RootKeyProvider.Open(hsm.Options(pin: "999999")));
        Assert.Equal(RekeyErrorCode.RootKeyUnavailable, wrongPin.Code);
        Assert.Contains("refused the PIN", wrongPin.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("999999", wrongPin.Message, StringComparison.Ordinal);

        var noKey = Assert.Throws<RekeyException>(() => Pkcs11RootKeyProvider.Open(hsm.Options(keyLabel: "missing")));
        Assert.Contains("no AES key labelled 'missing'", noKey.Message, StringComparison.Ordinal);

        var noToken = Assert.Throws<RekeyException>(() => Pkcs11RootKeyProvider.Open(hsm.Options(token: "elsewhere")));
        Assert.Contains("No PKCS#11 token is labelled 'elsewhere'", noToken.Message, StringComparison.Ordinal);

        var noLibrary = Assert.Throws<RekeyException>(() => Pkcs11RootKeyProvider.Open(hsm.Options(library: "/nonexistent/libpkcs11.so")));
        Assert.Contains("cannot be loaded", noLibrary.Message, StringComparison.Ordinal);

        var exists = Assert.Throws<RekeyException>(() => Pkcs11RootKeyProvider.CreateKey(hsm.Options()));
        Assert.Equal(RekeyErrorCode.KeyExists, exists.Code);
    }

    [Theory]
    [InlineData("pkcs11:library=/x.so;token=t;key=k", "pin-env or pin-file")]
    [InlineData("pkcs11:token=t;key=k;pin-env=P", "library")]
    [InlineData("pkcs11:library=/x.so;token=t;key=k;pin=1234", "'pin' is not a setting of this root")]
    [InlineData("pkcs11:library=/x.so;token=t;key=k;pin-env=REKEY_TEST_UNSET_PIN", "REKEY_TEST_UNSET_PIN, which is not set")]
    [InlineData("hsm:library=/x.so", "pkcs11:library=PATH")]
    [InlineData("pkcs11:library=/x.so;token=t;key=k;pin-env=P;s3cr3t-pin", "Every part of a root setting is name=value")]
    public void Specs_AreCheckedWithTheReason(string spec, string expected)
    {
        var e = Assert.Throws<RekeyException>(() => Pkcs11RootOptions.Parse(spec));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AServiceRootedInTheToken_EncryptsRotatesAndDecrypts_AndAReopenReadsItsKeys()
    {
        var directory = Directory.CreateTempSubdirectory("rekey-pkcs11-store-").FullName;
        var path = Path.Combine(directory, "rekey.db");
        var key = KeyName.Parse("tenants/h42/patients");
        var context = EncryptionContext.From("id=7");
        try
        {
            byte[] envelope;
            await using (var store = await SqliteKeyStore.OpenAsync(path))
            await using (var root = Pkcs11RootKeyProvider.Open(hsm.Options()))
            await using (var service = new RekeyService(store, root))
            {
                await service.CreateKeyAsync(key);
                envelope = await service.EncryptAsync(key, "record"u8.ToArray(), context);
                await service.RotateAsync(key);
                Assert.Equal(root.KeyId, (await store.GetVersionsAsync(key))[0].RootKeyId);
                Assert.NotNull(await service.CheckpointAuditAsync());
            }

            await using (var store = await SqliteKeyStore.OpenAsync(path))
            await using (var root = Pkcs11RootKeyProvider.Open(hsm.Options()))
            await using (var service = new RekeyService(store, root))
            {
                Assert.Equal("record"u8.ToArray(), await service.DecryptAsync(key, envelope, context));
                var moved = await service.RewrapAsync(key, envelope);
                Assert.Equal(2, EnvelopeReader.ReadVersion(moved));
                Assert.True((await service.VerifyAuditAsync(new Audit.AuditVerifyOptions())).IsValid);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }
}
