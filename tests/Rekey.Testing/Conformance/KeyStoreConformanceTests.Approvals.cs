using Rekey.Access;
using Rekey.Approvals;
using Rekey.Audit;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Lifecycle;
using Rekey.Storage;

namespace Rekey.Testing.Conformance;

/// <summary>Dual control on every store: who may approve, what an approval is good for, and that it runs once however approvers race.</summary>
public abstract partial class KeyStoreConformanceTests
{
    private const string Requester = "tok_requester";

    [Fact]
    public async Task Approval_HeldOperation_RunsOnlyAfterRequiredDistinctApprovers_NeverTheRequester_AndOnce()
    {
        await HoldAsync("""{"require_approval":["disable"],"approvals_required":2}""");
        var (gated, board) = Gated(Store);
        await gated.RotateAsync(Key);

        var held = await Assert.ThrowsAsync<RekeyException>(() => gated.DisableAsync(Key, 1, new ChangeContext(Requester, "INC-7")));
        Assert.Equal(RekeyErrorCode.ApprovalPending, held.Code);
        var id = held.ApprovalId!;
        Assert.Equal(KeyVersionState.DecryptOnly, await StateOfAsync(1));

        var own = await Assert.ThrowsAsync<RekeyException>(() => board.ApproveAsync(id, new ChangeContext(Requester)));
        Assert.Equal(RekeyErrorCode.ApprovalRefused, own.Code);

        var first = await board.ApproveAsync(id, new ChangeContext("tok_alice"));
        Assert.Equal((ApprovalState.Pending, 1), (first.State, first.Approvers.Count));
        Assert.Equal(KeyVersionState.DecryptOnly, await StateOfAsync(1));
        var twice = await Assert.ThrowsAsync<RekeyException>(() => board.ApproveAsync(id, new ChangeContext("tok_alice")));
        Assert.Equal(RekeyErrorCode.ApprovalRefused, twice.Code);

        var done = await board.ApproveAsync(id, new ChangeContext("tok_bob", "checked the ticket"));
        Assert.Equal(ApprovalState.Executed, done.State);
        Assert.Equal(["tok_alice", "tok_bob"], done.Approvers);
        Assert.Equal(KeyVersionState.Disabled, await StateOfAsync(1));

        var events = (await Service.ReadAuditAsync()).Select(e => e.Record).ToList();
        var disable = Assert.Single(events, e => e.Action == "version.disable");
        Assert.Equal((Requester, "INC-7"), (disable.Actor, disable.Reason));
        Assert.Contains($"approval {id} approved by tok_alice,tok_bob", disable.Details, StringComparison.Ordinal);
        Assert.Equal(2, events.Count(e => e.Action == "approval.approve" && e.Outcome == "success"));
        Assert.Single(events, e => e.Action == "approval.request" && e.Actor == Requester && e.Details!.Contains(id, StringComparison.Ordinal));
        Assert.True((await Service.VerifyAuditAsync()).IsValid);

        // Spent: the same approval carries out nothing more, even for the very same operation.
        await gated.EnableAsync(Key, 1);
        var again = await Assert.ThrowsAsync<RekeyException>(() => gated.DisableAsync(Key, 1, new ChangeContext(Requester) { Approval = new ApprovalGrant(id, done.Approvers) }));
        Assert.Equal(RekeyErrorCode.ApprovalRefused, again.Code);
        Assert.Equal(KeyVersionState.DecryptOnly, await StateOfAsync(1));
    }

    [Fact]
    public async Task Approval_ForOneVersion_CannotBeReplayedForAnother_AndTheStoreSpendsOnlyApprovedOnes()
    {
        await HoldAsync("""{"require_approval":["disable"]}""");
        var (gated, _) = Gated(Store);
        await gated.RotateAsync(Key);
        await gated.RotateAsync(Key);
        var id = (await Assert.ThrowsAsync<RekeyException>(() => gated.DisableAsync(Key, 1, new ChangeContext(Requester)))).ApprovalId!;
        var approvals = (IApprovalStore)Store;

        // Bypassing the gate does not help: the store spends only an approved approval.
        var early = new ChangeContext(Requester) { Approval = new ApprovalGrant(id, ["tok_alice"]) };
        Assert.Equal(RekeyErrorCode.ApprovalRefused, (await Assert.ThrowsAsync<RekeyException>(() => Service.DisableAsync(Key, 1, early))).Code);
        Assert.Equal(KeyVersionState.DecryptOnly, await StateOfAsync(1));

        // Approved in the store (as a board on another server would), not yet carried out.
        var decision = await approvals.VoteAsync(id, new ApprovalVote("tok_alice", Time.GetUtcNow(), true, null), new AuditRecord(Time.GetUtcNow(), "tok_alice", "approval.approve", Key.Value, 1, null, "success", "approval " + id));
        Assert.True(decision.Decided);
        var grant = new ChangeContext(Requester) { Approval = new ApprovalGrant(id, ["tok_alice"]) };
        var replay = await Assert.ThrowsAsync<RekeyException>(() => gated.DisableAsync(Key, 2, grant));
        Assert.Equal(RekeyErrorCode.ApprovalRefused, replay.Code);
        Assert.Contains("not 'disable tenants/h42/patients version 2'", replay.Message, StringComparison.Ordinal);
        Assert.Equal(KeyVersionState.DecryptOnly, await StateOfAsync(2));
        var stranger = await Assert.ThrowsAsync<RekeyException>(() => gated.DisableAsync(Key, 1, grant with { Actor = "tok_mallory" }));
        Assert.Equal(RekeyErrorCode.ApprovalRefused, stranger.Code);
        var forged = await Assert.ThrowsAsync<RekeyException>(() => gated.DisableAsync(Key, 1, grant with { Approval = new ApprovalGrant(id, ["tok_eve"]) }));
        Assert.Equal(RekeyErrorCode.ApprovalRefused, forged.Code);

        await gated.DisableAsync(Key, 1, grant);
        Assert.Equal(KeyVersionState.Disabled, await StateOfAsync(1));
        Assert.Equal(ApprovalState.Executed, (await approvals.FindApprovalAsync(id))!.State);
    }

    [Fact]
    public async Task Approval_Expired_ExecutesNothing_AndTheSweepRecordsIt_WhileADenialEndsAnother()
    {
        await HoldAsync("""{"require_approval":["disable","delete-key"],"approval_expires_seconds":3600}""");
        var (gated, board) = Gated(Store);
        await gated.RotateAsync(Key);
        var expiring = (await Assert.ThrowsAsync<RekeyException>(() => gated.DisableAsync(Key, 1, new ChangeContext(Requester)))).ApprovalId!;
        Time.Advance(TimeSpan.FromMinutes(61));

        var late = await Assert.ThrowsAsync<RekeyException>(() => board.ApproveAsync(expiring, new ChangeContext("tok_alice")));
        Assert.Equal(RekeyErrorCode.ApprovalRefused, late.Code);
        Assert.Contains("expired", late.Message, StringComparison.Ordinal);
        Assert.Equal(KeyVersionState.DecryptOnly, await StateOfAsync(1));
        Assert.Equal(1, await board.ExpireAsync());
        Assert.Equal(0, await board.ExpireAsync());
        Assert.Equal(ApprovalState.Expired, (await board.GetAsync(expiring)).State);

        await gated.UpdateKeyAsync(Key, new KeyConfigUpdate(DeletionAllowed: true));
        var denied = (await Assert.ThrowsAsync<RekeyException>(() => gated.DeleteKeyAsync(Key, new ChangeContext(Requester)))).ApprovalId!;
        Assert.Equal(ApprovalState.Denied, (await board.DenyAsync(denied, new ChangeContext("tok_alice", "not during the audit"))).State);
        Assert.Equal(RekeyErrorCode.ApprovalRefused, (await Assert.ThrowsAsync<RekeyException>(() => board.ApproveAsync(denied, new ChangeContext("tok_bob")))).Code);
        Assert.NotNull(await Store.FindKeyAsync(Key));

        var events = (await Service.ReadAuditAsync()).Select(e => e.Record).ToList();
        Assert.Single(events, e => e.Action == "approval.expire" && e.Details!.Contains(expiring, StringComparison.Ordinal));
        Assert.Single(events, e => e.Action == "approval.deny" && e.Actor == "tok_alice" && e.Reason == "not during the audit");
        Assert.DoesNotContain(events, e => e.Action is "version.disable" or "key.delete");
    }

    [Fact]
    public async Task Approval_ApproversRacingOnSeparateConnections_CarryTheOperationOutExactlyOnce()
    {
        await HoldAsync("""{"require_approval":["disable"]}""");
        var other = await OpenStoreAsync(Time);
        var (gated, board) = Gated(Store);
        var (_, otherBoard) = Gated(other);
        _opened.Add(other);
        await gated.RotateAsync(Key);
        for (var round = 0; round < 5; round++)
        {
            var id = (await Assert.ThrowsAsync<RekeyException>(() => gated.DisableAsync(Key, 1, new ChangeContext(Requester)))).ApprovalId!;
            var attempts = new[] { board.ApproveAsync(id, new ChangeContext("tok_alice")), otherBoard.ApproveAsync(id, new ChangeContext("tok_bob")) };
            var outcomes = await Task.WhenAll(attempts.Select(async a =>
            {
                try
                {
                    return (await a).State.ToString();
                }
                catch (RekeyException e)
                {
                    return e.Code.ToString();
                }
            }));
            Assert.Equal(["ApprovalRefused", "Executed"], outcomes.Order(StringComparer.Ordinal));
            Assert.Equal(KeyVersionState.Disabled, await StateOfAsync(1));
            await gated.EnableAsync(Key, 1);
        }

        var events = (await Service.ReadAuditAsync()).Select(e => e.Record).ToList();
        Assert.Equal(5, events.Count(e => e.Action == "version.disable"));
        Assert.Equal(5, events.Count(e => e.Action == "approval.approve"));
    }

    [Fact]
    public async Task Approval_PolicyChangesAreHeldByTheRulesInForce_AndNarrowerPoliciesCannotLoosenThem()
    {
        await HoldAsync("""{"require_approval":["policy","destroy"],"approvals_required":1}""");
        var (gated, board) = Gated(Store);
        var policies = new LifecyclePolicies(gated, (ILifecycleStore)Store, null, Time);

        // A narrower policy that asks for nothing still leaves the broader rule in force.
        var loosen = await Assert.ThrowsAsync<RekeyException>(() => policies.SetAsync(KeyPattern.Parse(Key.Value), new LifecyclePolicy { RequireApproval = [] }, new ChangeContext(Requester)));
        Assert.Equal(RekeyErrorCode.ApprovalPending, loosen.Code);
        var approved = await board.ApproveAsync(loosen.ApprovalId!, new ChangeContext("tok_alice"));
        Assert.Equal(ApprovalState.Executed, approved.State);
        Assert.Contains(await policies.ListAsync(), p => p.Pattern == Key.Value);
        var rule = await ((ApprovalGate)gated.Approvals!).RuleForAsync(ApprovalRequest.For(ApprovalOperations.Destroy, Key.Value, 1));
        Assert.True(rule.Covers(ApprovalOperations.Destroy));

        // Removing the rule is itself held.
        var unset = await Assert.ThrowsAsync<RekeyException>(() => policies.UnsetAsync(KeyPattern.All, new ChangeContext(Requester)));
        Assert.Equal(RekeyErrorCode.ApprovalPending, unset.Code);
        Assert.Contains(await policies.ListAsync(), p => p.Pattern == "*");
    }

    private async Task HoldAsync(string document)
    {
        await Service.CreateKeyAsync(Key);
        await ((ILifecycleStore)Store).PutPolicyAsync(new StoredPolicy("*", document, Time.GetUtcNow()), new AuditRecord(Time.GetUtcNow(), "test", "policy.set", null, null, null, "success", document));
    }

    private (RekeyService Service, ApprovalBoard Board) Gated(IKeyStore store)
    {
        var gate = new ApprovalGate((ILifecycleStore)store, (IApprovalStore)store, null, Time);
        var service = new RekeyService(store, Root, new RekeyServiceOptions { DefaultDestructionDelay = TimeSpan.Zero, Approvals = gate }, Time);
        _opened.Add(service);
        return (service, new ApprovalBoard((IApprovalStore)store, service, new LifecyclePolicies(service, (ILifecycleStore)store, null, Time), Time));
    }

    private async Task<KeyVersionState> StateOfAsync(int version) =>
        (await Store.GetVersionsAsync(Key)).Single(v => v.Info.Version == version).Info.State;
}
