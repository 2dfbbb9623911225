using System.Text;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Storage.Sqlite.Tests;

/// <summary>A Retiring version stops decrypting at its deadline, and its state moves on, audited.</summary>
public sealed class RetireDeadlineTests : IAsyncLifetime
{
    private static readonly EncryptionContext Context = EncryptionContext.From("id=1");
    private static readonly KeyName Key = SqliteFixture.Name("tenants/h42/patients");
    private SqliteFixture _f = null!;

    public async Task InitializeAsync() => _f = await SqliteFixture.CreateAsync();

    public async Task DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Retire_GraceZero_StopsDecryptAndRewrapAtOnce_AndTheVersionIsDisabled()
    {
        await _f.Service.CreateKeyAsync(Key);
        var old = await _f.Service.EncryptAsync(Key, Encoding.UTF8.GetBytes("x"), Context);
        await _f.Service.RotateAsync(Key);
        await _f.Service.RetireAsync(Key, 1, TimeSpan.Zero);

        Assert.Equal(RekeyErrorCode.KeyDisabled, (await Assert.ThrowsAsync<RekeyException>(() => _f.Service.DecryptAsync(Key, old, Context).AsTask())).Code);
        Assert.Equal(RekeyErrorCode.KeyDisabled, (await Assert.ThrowsAsync<RekeyException>(() => _f.Service.RewrapAsync(Key, old).AsTask())).Code);
        Assert.Equal(KeyVersionState.Disabled, (await _f.Service.ListVersionsAsync(Key))[0].State);
        var expired = (await _f.Service.ReadAuditAsync()).Where(e => e.Record.Action == "version.retire_expire").ToList();
        Assert.Single(expired);
        Assert.Equal(1, expired[0].Record.FromVersion);
    }

    [Fact]
    public async Task Retire_BeforeTheDeadline_Decrypts_AfterItTheSweepDisablesIt()
    {
        await _f.Service.CreateKeyAsync(Key);
        var old = await _f.Service.EncryptAsync(Key, Encoding.UTF8.GetBytes("x"), Context);
        await _f.Service.RotateAsync(Key);
        await _f.Service.RetireAsync(Key, 1, TimeSpan.FromDays(30));

        Assert.Equal("x", Encoding.UTF8.GetString(await _f.Service.DecryptAsync(Key, old, Context)));
        Assert.Equal(0, await _f.Service.ExpireRetiredVersionsAsync());

        _f.Time.Advance(TimeSpan.FromDays(30));
        Assert.Equal(1, await _f.Service.ExpireRetiredVersionsAsync());
        Assert.Equal(0, await _f.Service.ExpireRetiredVersionsAsync());
        Assert.Equal(KeyVersionState.Disabled, (await _f.Service.ListVersionsAsync(Key))[0].State);
        Assert.Equal(RekeyErrorCode.KeyDisabled, (await Assert.ThrowsAsync<RekeyException>(() => _f.Service.DecryptAsync(Key, old, Context).AsTask())).Code);
        Assert.True((await _f.Service.VerifyAuditAsync()).IsValid);
    }
}
