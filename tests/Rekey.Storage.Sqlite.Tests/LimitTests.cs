using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Storage.Sqlite.Tests;

/// <summary>Configured limits on keys per store and versions per key refuse clearly, audited, and change nothing.</summary>
public sealed class LimitTests : IAsyncLifetime
{
    private SqliteFixture _f = null!;

    public async Task InitializeAsync() => _f = await SqliteFixture.CreateAsync();

    public async Task DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task MaxKeysAndMaxVersions_AreLimitExceeded_AndAudited()
    {
        await using var service = new RekeyService(_f.Store, _f.Root, new RekeyServiceOptions { MaxKeys = 2, MaxVersionsPerKey = 3 }, _f.Time);
        var key = SqliteFixture.Name("app/a");
        await service.CreateKeyAsync(key);
        await service.CreateKeyAsync(SqliteFixture.Name("app/b"));
        var tooMany = await Assert.ThrowsAsync<RekeyException>(() => service.CreateKeyAsync(SqliteFixture.Name("app/c")));
        Assert.Equal(RekeyErrorCode.LimitExceeded, tooMany.Code);
        Assert.Contains("max_keys", tooMany.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await service.ListKeysAsync()).Count);

        await service.RotateAsync(key);
        await service.RotateAsync(key);
        var tooOld = await Assert.ThrowsAsync<RekeyException>(() => service.RotateAsync(key));
        Assert.Equal(RekeyErrorCode.LimitExceeded, tooOld.Code);
        Assert.Equal(3, (await service.ListVersionsAsync(key)).Count);
        Assert.Equal(3, (await service.GetKeyAsync(key)).ActiveVersion);

        var refusals = (await service.ReadAuditAsync()).Where(e => e.Record.Outcome == "refused:LimitExceeded").Select(e => e.Record.Action);
        Assert.Equal(["key.create", "key.rotate"], refusals);
    }
}
