using System.CommandLine;
using Rekey.Audit;

namespace Rekey.Cli;

/// <summary><c>rekey audit list|verify</c>.</summary>
internal static class AuditCommands
{
    public static Command Build(GlobalOptions globals)
    {
        var audit = new Command("audit", "Read and verify the tamper-evident audit log.");

        var after = new Option<long>("--after") { Description = "Only events after this sequence number.", DefaultValueFactory = _ => 0 };
        var limit = new Option<int>("--limit") { Description = "At most this many events (default 100).", DefaultValueFactory = _ => 100 };
        var list = new Command("list", "List audit events, oldest first.") { after, limit };
        list.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            globals.OutputFor(parse).Audit(await service.ReadAuditAsync(parse.GetValue(after), parse.GetValue(limit), ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }, ct)));
        audit.Subcommands.Add(list);

        var head = new Option<string?>("--head") { Description = "A head printed by an earlier verify (<seq>:<hash>): also detect events removed from the end since then." };
        var publicKeyFile = new Option<string?>("--public-key") { Description = "A PEM file with the audit-signing public key(s) kept outside the store: only checkpoints by them (or keys they endorsed) count." };
        var witness = new Option<string?>("--witness") { Description = "A witness file of checkpoints written outside the store: a cut tail or a rewrite behind any of them is reported." };
        var verify = new Command("verify", "Verify the hash chain and signed checkpoints; print its head (exit 8 when invalid).") { head, publicKeyFile, witness };
        verify.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            AuditHead? expected = null;
            if (parse.GetValue(head) is { } text)
            {
                try
                {
                    expected = AuditHead.Parse(text);
                }
                catch (FormatException e)
                {
                    throw new UsageException(e.Message);
                }
            }

            var pinned = parse.GetValue(publicKeyFile) is { } pemFile ? ReadPublicKeys(pemFile) : null;
            IReadOnlyList<AuditCheckpoint>? witnessed = null;
            if (parse.GetValue(witness) is { } witnessFile)
            {
                try
                {
                    witnessed = AuditWitnessLine.ReadFile(witnessFile);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
                {
                    throw new UsageException($"The witness file '{witnessFile}' cannot be read: {e.Message}");
                }
            }

            var result = await service.VerifyAuditAsync(new AuditVerifyOptions(expected, pinned, witnessed), ct).ConfigureAwait(false);
            globals.OutputFor(parse).Verification(result);
            return result.IsValid ? ExitCodes.Ok : ExitCodes.AuditInvalid;
        }, ct)));
        audit.Subcommands.Add(verify);

        var checkpoint = new Command("checkpoint", "Sign the chain's current head with the audit-signing key (created on first use) and store the checkpoint.");
        checkpoint.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var signed = await service.CheckpointAuditAsync(null, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Message(
                signed is null ? "The audit log is empty; nothing to sign." : $"Signed checkpoint at sequence {signed.Sequence} ({signed.Hash}) with {signed.KeyId}.",
                new { sequence = signed?.Sequence, hash = signed?.Hash, keyId = signed?.KeyId, signature = signed is null ? null : Convert.ToBase64String(signed.Signature) });
            return ExitCodes.Ok;
        }, ct)));
        audit.Subcommands.Add(checkpoint);

        var publicKey = new Command("public-key", "Print the audit-signing public keys (PEM), to verify checkpoints elsewhere.");
        publicKey.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var keys = await service.GetAuditPublicKeysAsync(ct).ConfigureAwait(false);
            var pems = keys.ToDictionary(k => k.Key, k => System.Security.Cryptography.PemEncoding.WriteString("PUBLIC KEY", k.Value));
            globals.OutputFor(parse).Message(
                keys.Count == 0 ? "No audit-signing key yet: run 'rekey audit checkpoint'." : string.Join('\n', pems.Select(p => $"# {p.Key}\n{p.Value}")),
                pems);
            return ExitCodes.Ok;
        }, ct)));
        audit.Subcommands.Add(publicKey);

        var rotate = new Command("rotate-signing-key", "Replace the audit-signing key; the old key endorses the new one in the chain, so verifiers pinned to it follow.");
        rotate.SetAction((parse, ct) => CliApp.Guard(globals, () => globals.WithServiceAsync(parse, async service =>
        {
            var rotated = await service.RotateAuditSigningKeyAsync(null, ct).ConfigureAwait(false);
            globals.OutputFor(parse).Message(
                $"New audit-signing key {rotated.KeyId}, endorsed by the previous key; checkpoint at sequence {rotated.Checkpoint.Sequence}.",
                new { key_id = rotated.KeyId, sequence = rotated.Checkpoint.Sequence, hash = rotated.Checkpoint.Hash });
            return ExitCodes.Ok;
        }, ct)));
        audit.Subcommands.Add(rotate);
        return audit;
    }

    // Every PUBLIC KEY block in the file; a file without one is a usage error, not an empty pin.
    private static List<byte[]> ReadPublicKeys(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"The public key file '{path}' cannot be read: {e.Message}");
        }

        var keys = new List<byte[]>();
        var rest = text.AsSpan();
        while (System.Security.Cryptography.PemEncoding.TryFind(rest, out var fields))
        {
            if (rest[fields.Label].SequenceEqual("PUBLIC KEY"))
            {
                keys.Add(Convert.FromBase64String(rest[fields.Base64Data].ToString()));
            }

            rest = rest[fields.Location.End..];
        }

        return keys.Count > 0 ? keys : throw new UsageException($"'{path}' holds no PEM 'PUBLIC KEY' block; write one with 'rekey audit public-key'.");
    }
}
