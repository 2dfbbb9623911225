using System.CommandLine;
using System.Globalization;
using Rekey.Errors;
using Rekey.Hosting;
using Rekey.Providers.AwsKms;
using Rekey.Providers.Pkcs11;
using Rekey.Root;
using Rekey.Storage;

namespace Rekey.Cli;

/// <summary>One root in <c>rekey root status</c>: what it wraps and how the store's configuration names it.</summary>
/// <param name="RootKeyId">The root's id (a fingerprint, or the KMS key's ARN).</param>
/// <param name="Role"><c>primary</c>, <c>previous</c>, or <c>not configured</c> (what it wraps cannot be read here).</param>
/// <param name="KeyVersions">Key versions whose material it wraps.</param>
/// <param name="SigningKeys">Audit-signing keys it wraps.</param>
/// <param name="DataSources">Data source connection strings it wraps.</param>
/// <param name="ImportKeys">Private keys of live import tokens it wraps.</param>
internal sealed record RootStatusRow(string RootKeyId, string Role, long KeyVersions, long SigningKeys, long DataSources, long ImportKeys);

/// <summary>
/// <c>rekey root</c>: make a root key in a token, see which roots wrap what, move everything to
/// another root (<c>migrate</c>) or to a new root in the same place (<c>rotate</c>).
/// </summary>
internal static class RootCommands
{
    public static Command Build(GlobalOptions globals)
    {
        var root = new Command("root", "The root key that wraps every key version's material.");
        root.Subcommands.Add(CreateKey(globals));
        root.Subcommands.Add(Status(globals));

        var batchSize = new Option<int>("--batch-size") { Description = "Secrets re-wrapped per transaction and audit event.", DefaultValueFactory = _ => 100 };
        var pause = new Option<string?>("--pause") { Description = "A pause after each batch (500ms, 2s), to spare an HSM or a KMS quota that live traffic shares." };
        var to = new Option<string>("--to") { Description = "The root to move to, as one setting: file:PATH, pkcs11:library=PATH;token=LABEL;key=LABEL;pin-env=VAR, or awskms:key=ID|ARN|alias/NAME[;region=R][;endpoint=URL]. Without it, the migration left unfinished is resumed." };
        var approval = new Option<string?>("--approval") { Description = "Under dual control (require_approval: root): the approved approval for exactly this change, asked for by you." };
        var migrate = new Command("migrate", "Re-wrap every key version, audit-signing key and data source under another root, in batches, while the store stays in use; a killed run resumes where it stopped. The old root is dropped from rekey.json once it wraps nothing.") { to, batchSize, pause, approval };
        migrate.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var home = StoreHome.Open(parse.GetValue(globals.Dir)!);
            var target = parse.GetValue(to);
            if (target is null && home.Config.PreviousRoots is not { Count: > 0 })
            {
                throw new UsageException("Nothing to resume: give --to with the root to move to.");
            }

            if (target is not null)
            {
                await HoldAsync(home, Rekey.Approvals.ApprovalRequest.For(Rekey.Approvals.ApprovalOperations.Root, null).With("action", "migrate").With("to", target), parse.GetValue(approval), ct).ConfigureAwait(false);
            }

            return await MigrateAsync(globals, parse, home, target, Options(parse.GetValue(batchSize), parse.GetValue(pause)), ct).ConfigureAwait(false);
        }));
        root.Subcommands.Add(migrate);

        var label = new Option<string?>("--label") { Description = "For a PKCS#11 root: the new key's label (default: the current label with the date and time appended)." };
        var rotate = new Command("rotate", "Make a new root where the current one lives (a new key file, a new key in the same token, a new KMS key) and migrate everything to it, as migrate does.") { label, batchSize, pause, approval };
        rotate.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var home = StoreHome.Open(parse.GetValue(globals.Dir)!);
            if (home.Config.PreviousRoots is { Count: > 0 })
            {
                throw new UsageException("A migration is unfinished (rekey.json still names previous roots): finish it with 'rekey root migrate' before rotating again.");
            }

            var current = home.RootSetting();
            await HoldAsync(home, Rekey.Approvals.ApprovalRequest.For(Rekey.Approvals.ApprovalOperations.Root, null).With("action", "rotate").With("from", current), parse.GetValue(approval), ct).ConfigureAwait(false);
            var next = await NewRootAsync(current, parse.GetValue(label), ct).ConfigureAwait(false);
            globals.Stderr.WriteLine($"Created the new root {next}.");
            return await MigrateAsync(globals, parse, home, next, Options(parse.GetValue(batchSize), parse.GetValue(pause)), ct).ConfigureAwait(false);
        }));
        root.Subcommands.Add(rotate);
        return root;
    }

    private static Command CreateKey(GlobalOptions globals)
    {
        var spec = new Option<string>("--root") { Description = "Where the root key lives: pkcs11:library=PATH;token=LABEL;key=LABEL;pin-env=VAR (the PIN from the environment, or pin-file=PATH).", Required = true };
        var create = new Command("create-key", "Create the root key in a PKCS#11 token: AES-256, generated inside the token, sensitive and never extractable. Refused when a key with the label exists.") { spec };
        create.SetAction((parse, ct) => CliApp.Guard(globals, () =>
        {
            var value = parse.GetValue(spec)!;
            if (!value.StartsWith("pkcs11:", StringComparison.Ordinal))
            {
                throw new UsageException("create-key makes keys in a PKCS#11 token (--root pkcs11:...); a key file is made by rekey init.");
            }

            var options = Pkcs11RootOptions.Parse(value);
            Pkcs11RootKeyProvider.CreateKey(options);
            globals.OutputFor(parse).Message($"Created the AES-256 root key '{options.KeyLabel}' in the PKCS#11 token '{options.Token}'.", new { token = options.Token, key = options.KeyLabel });
            return Task.FromResult(ExitCodes.Ok);
        }));
        return create;
    }

    private static Command Status(GlobalOptions globals)
    {
        var status = new Command("status", "Which roots wrap the store's secrets, how many each, and how the configuration names them. A previous root that wraps nothing can be dropped.");
        status.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var home = StoreHome.Open(parse.GetValue(globals.Dir)!);
            await using var stack = await home.OpenServiceAsync(null, ct).ConfigureAwait(false);
            var usage = await ((IRootMigrationStore)stack.Store).CountByRootAsync(ct).ConfigureAwait(false);
            var rows = usage.Select(u => new RootStatusRow(u.RootKeyId, Role(stack.Roots, u.RootKeyId), u.KeyVersions, u.SigningKeys, u.DataSources, u.ImportKeys)).ToList();
            rows.AddRange(stack.Roots.KeyIds.Where(id => usage.All(u => u.RootKeyId != id)).Select(id => new RootStatusRow(id, Role(stack.Roots, id), 0, 0, 0, 0)));
            globals.OutputFor(parse).Roots(rows);
            return rows.Any(r => r.Role == "not configured") ? ExitCodes.StoreFailure : ExitCodes.Ok;
        }));
        return status;
    }

    // Dual control over the root: without an approval, a rule that names 'root' records a pending
    // approval and stops here (exit 10); with one, it must be approved, this user's, for exactly this
    // change, and it is spent by an audit event before anything changes.
    private static async Task HoldAsync(StoreHome home, Rekey.Approvals.ApprovalRequest request, string? approvalId, CancellationToken ct)
    {
        await using var stack = await home.OpenServiceAsync(null, ct).ConfigureAwait(false);
        if (stack.Service.Approvals is not Rekey.Lifecycle.ApprovalGate gate)
        {
            return;
        }

        var change = new ChangeContext(StoreHome.ActorName());
        if (approvalId is not null)
        {
            change = change with { Approval = await gate.CollectAsync(approvalId, change.Actor, ct).ConfigureAwait(false) };
        }

        await gate.CheckAsync(request, change, ct).ConfigureAwait(false);
        if (change.Approval is not null)
        {
            var record = new Audit.AuditRecord(Audit.AuditChain.TruncateToMilliseconds(TimeProvider.System.GetUtcNow()), change.Actor, "root.approved", null, null, null, "success", request.ToString());
            await stack.Store.AppendAuditAsync(ChangeContext.Stamp(change, record), ct).ConfigureAwait(false);
        }
    }

    private static async Task<int> MigrateAsync(GlobalOptions globals, ParseResult parse, StoreHome home, string? target, RootMigrationOptions options, CancellationToken ct)
    {
        if (target is not null)
        {
            // The new root must open before rekey.json names it: a typo never leaves the store
            // configured with a root that cannot be reached.
            await (await RekeyStack.OpenRootAsync(target, ct).ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
            var current = home.RootSetting();
            var previous = new[] { current }.Concat(home.Config.PreviousRoots ?? []).Where(r => r != target).Distinct(StringComparer.Ordinal).ToList();

            // From here on new material is wrapped by the target and everything old is still read.
            home = home.WithRoots(target, previous);
        }

        var stackOptions = home.StackOptions();
        var (primary, previousRoots) = await RekeyStack.OpenRootsAsync(stackOptions, ct).ConfigureAwait(false);
        var ring = new RootKeyRing(primary, [.. previousRoots.Select(p => p.Provider)]);
        await using var stack = await RekeyStack.OpenAsync(stackOptions, ring, TimeProvider.System, cancellationToken: ct).ConfigureAwait(false);
        var store = (IRootMigrationStore)stack.Store;
        var progress = new Progress<RootMigrationProgress>(p => globals.Stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"batch {p.Batches}: {p.Moved} re-wrapped")));
        var migrator = new RootMigrator(store, ring);
        options = options with { Actor = StoreHome.ActorName() };
        var result = await migrator.RunAsync(options, progress, ct).ConfigureAwait(false);
        if (target is not null)
        {
            // A server on this folder reloads rekey.json within moments of the change above; material
            // it wrapped under the old root just before that is moved by one more pass.
            await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
            var tail = await migrator.RunAsync(options, progress, ct).ConfigureAwait(false);
            result = result with { Moved = result.Moved + tail.Moved, Batches = result.Batches + tail.Batches, Elapsed = result.Elapsed + tail.Elapsed };
        }

        // A previous root is released only when nothing in the store is under it any more.
        var usage = await store.CountByRootAsync(ct).ConfigureAwait(false);
        var kept = previousRoots.Where(p => usage.Any(u => u.RootKeyId == p.Provider.KeyId && u.Total > 0)).Select(p => p.Setting).ToList();
        var released = previousRoots.Where(p => !kept.Contains(p.Setting)).Select(p => p.Provider.KeyId).ToList();
        foreach (var id in released)
        {
            await stack.Store.AppendAuditAsync(
                new Audit.AuditRecord(TimeProvider.System.GetUtcNow(), StoreHome.ActorName(), "root.release", null, null, null, "success", $"root {id} wraps nothing in the store and is no longer configured; new material is wrapped by root {primary.KeyId}"),
                ct).ConfigureAwait(false);
        }

        home.WithRoots(home.RootSetting(), kept);
        var rate = result.Elapsed > TimeSpan.Zero ? result.Moved / result.Elapsed.TotalSeconds : 0;
        globals.OutputFor(parse).Message(
            string.Create(CultureInfo.InvariantCulture, $"Moved {result.Moved} secrets in {result.Batches} batches ({rate:0} per second) to root {result.TargetRootKeyId}. ")
                + (released.Count > 0 ? $"Released root {string.Join(", ", released)}: it wraps nothing; rekey.json no longer names it. Backups of the store taken before now still need it." : "No previous root was released."),
            new { root = result.TargetRootKeyId, moved = result.Moved, batches = result.Batches, seconds = result.Elapsed.TotalSeconds, released, previous_roots = kept });
        return ExitCodes.Ok;
    }

    private static async Task<string> NewRootAsync(string current, string? label, CancellationToken ct)
    {
        var stamp = TimeProvider.System.GetUtcNow().ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture);
        if (current.StartsWith("file:", StringComparison.Ordinal))
        {
            var path = Path.Combine(Path.GetDirectoryName(current["file:".Length..])!, $"root-{stamp}.key");
            await LocalRootKeyProvider.CreateKeyFile(path).DisposeAsync().ConfigureAwait(false);
            return "file:" + path;
        }

        if (current.StartsWith("pkcs11:", StringComparison.Ordinal))
        {
            var options = Pkcs11RootOptions.Parse(current);
            var next = label ?? $"{options.KeyLabel}-{stamp}";
            Pkcs11RootKeyProvider.CreateKey(new Pkcs11RootOptions { Library = options.Library, Token = options.Token, KeyLabel = next, Pin = options.Pin });
            return WithField(current, "key", next);
        }

        if (current.StartsWith("awskms:", StringComparison.Ordinal))
        {
            var arn = await AwsKmsRootKeyProvider.CreateKeyAsync(AwsKmsRootOptions.Parse(current), "Rekey root key (rekey root rotate, " + stamp + ")", ct).ConfigureAwait(false);
            return WithField(current, "key", arn);
        }

        throw new UsageException("A passphrase root is not rotated in place: move to a key file, a token or a KMS key with 'rekey root migrate --to ...'.");
    }

    // Settings are scheme:name=value;...; only the named part changes.
    private static string WithField(string setting, string name, string value)
    {
        var colon = setting.IndexOf(':', StringComparison.Ordinal);
        var parts = setting[(colon + 1)..].Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.StartsWith(name + "=", StringComparison.Ordinal) ? $"{name}={value}" : p);
        return setting[..(colon + 1)] + string.Join(';', parts);
    }

    private static RootMigrationOptions Options(int batchSize, string? pause)
    {
        if (batchSize is < 1 or > 10_000)
        {
            throw new UsageException("--batch-size is between 1 and 10000.");
        }

        var wait = TimeSpan.Zero;
        if (pause is not null && !Durations.TryParse(pause, out wait))
        {
            throw new UsageException($"--pause '{pause}' is not a duration such as 500ms or 2s.");
        }

        return new RootMigrationOptions { BatchSize = batchSize, PauseBetweenBatches = wait };
    }

    private static string Role(RootKeyRing ring, string id) =>
        id == ring.Primary.KeyId ? "primary" : ring.TryResolve(id, out _) ? "previous" : "not configured";
}
