using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Core.Tests.Keys;

/// <summary>The lifecycle table cell by cell: every state against every operation and every transition.</summary>
public sealed class KeyLifecycleTests
{
    private static readonly KeyName Key = KeyName.Parse("k");

    public static TheoryData<KeyVersionState, KeyVersionState> AllPairs()
    {
        var data = new TheoryData<KeyVersionState, KeyVersionState>();
        foreach (var from in Enum.GetValues<KeyVersionState>())
        {
            foreach (var to in Enum.GetValues<KeyVersionState>())
            {
                data.Add(from, to);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllPairs))]
    public void EnsureAllowed_EveryPair_FollowsTheTable(KeyVersionState from, KeyVersionState to)
    {
        var expected = (from, to) switch
        {
            (KeyVersionState.Pending, KeyVersionState.Active) => true,
            (KeyVersionState.Pending, KeyVersionState.Disabled) => true,
            (KeyVersionState.DecryptOnly, KeyVersionState.Retiring) => true,
            (KeyVersionState.DecryptOnly, KeyVersionState.Disabled) => true,
            (KeyVersionState.Retiring, KeyVersionState.DecryptOnly) => true,
            (KeyVersionState.Retiring, KeyVersionState.Disabled) => true,
            (KeyVersionState.Disabled, KeyVersionState.DecryptOnly) => true,
            (KeyVersionState.Disabled, KeyVersionState.DestroyScheduled) => true,
            (KeyVersionState.DestroyScheduled, KeyVersionState.Disabled) => true,
            (KeyVersionState.DestroyScheduled, KeyVersionState.Destroyed) => true,
            _ => false,
        };

        Assert.Equal(expected, KeyLifecycle.IsAllowed(from, to));
        if (expected)
        {
            KeyLifecycle.EnsureAllowed(Key, 1, from, to);
        }
        else
        {
            var e = Assert.Throws<RekeyException>(() => KeyLifecycle.EnsureAllowed(Key, 1, from, to));
            Assert.Equal(RekeyErrorCode.TransitionNotAllowed, e.Code);
            Assert.Contains(from.ToString(), e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Destroyed_IsTerminal() =>
        Assert.DoesNotContain(KeyLifecycle.AllowedTransitions, t => t.From == KeyVersionState.Destroyed);

    [Fact]
    public void Active_IsNeverLeftDirectly() =>
        Assert.DoesNotContain(KeyLifecycle.AllowedTransitions, t => t.From == KeyVersionState.Active);

    [Theory]
    [InlineData(KeyVersionState.Pending, RekeyErrorCode.KeyInactive)]
    [InlineData(KeyVersionState.Active, null)]
    [InlineData(KeyVersionState.DecryptOnly, RekeyErrorCode.KeyInactive)]
    [InlineData(KeyVersionState.Retiring, RekeyErrorCode.KeyInactive)]
    [InlineData(KeyVersionState.Disabled, RekeyErrorCode.KeyDisabled)]
    [InlineData(KeyVersionState.DestroyScheduled, RekeyErrorCode.KeyDisabled)]
    [InlineData(KeyVersionState.Destroyed, RekeyErrorCode.KeyDestroyed)]
    public void EnsureCanEncrypt_EachState(KeyVersionState state, RekeyErrorCode? refusal) =>
        AssertRefusal(() => KeyLifecycle.EnsureCanEncrypt(Key, 1, state), refusal, state);

    [Theory]
    [InlineData(KeyVersionState.Pending, null)]
    [InlineData(KeyVersionState.Active, null)]
    [InlineData(KeyVersionState.DecryptOnly, null)]
    [InlineData(KeyVersionState.Retiring, null)]
    [InlineData(KeyVersionState.Disabled, RekeyErrorCode.KeyDisabled)]
    [InlineData(KeyVersionState.DestroyScheduled, RekeyErrorCode.KeyDisabled)]
    [InlineData(KeyVersionState.Destroyed, RekeyErrorCode.KeyDestroyed)]
    public void EnsureCanDecrypt_EachState(KeyVersionState state, RekeyErrorCode? refusal) =>
        AssertRefusal(() => KeyLifecycle.EnsureCanDecrypt(Key, 3, state, minDecryptionVersion: 1), refusal, state);

    [Theory]
    [InlineData(KeyVersionState.Active)]
    [InlineData(KeyVersionState.DecryptOnly)]
    public void EnsureCanDecrypt_BelowMinimumVersion_IsVersionTooOld(KeyVersionState state)
    {
        var e = Assert.Throws<RekeyException>(() => KeyLifecycle.EnsureCanDecrypt(Key, 2, state, minDecryptionVersion: 3));
        Assert.Equal(RekeyErrorCode.VersionTooOld, e.Code);
    }

    private static void AssertRefusal(Action action, RekeyErrorCode? refusal, KeyVersionState state)
    {
        if (refusal is null)
        {
            action();
            return;
        }

        var e = Assert.Throws<RekeyException>(action);
        Assert.Equal(refusal, e.Code);
        Assert.Contains(state.ToString(), e.Message, StringComparison.Ordinal);
    }
}
