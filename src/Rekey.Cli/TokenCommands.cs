using System.CommandLine;
using Rekey.Access;
using Rekey.Api;
using Rekey.Server.Access;
using Rekey.Storage;

namespace Rekey.Cli;

/// <summary>
/// <c>rekey token create|list|revoke|self</c>: against the server when REKEY_ADDR is set, else
/// directly on the local store (which is how the first admin token of a production server is made).
/// </summary>
internal static class TokenCommands
{
    public static Command Build(GlobalOptions globals)
    {
        var token = new Command("token", "Issue, list and revoke bearer tokens for the server.");
        token.Subcommands.Add(Create(globals));
        token.Subcommands.Add(List(globals));
        token.Subcommands.Add(Revoke(globals));
        token.Subcommands.Add(Self(globals));
        return token;
    }

    private static Command Create(GlobalOptions globals)
    {
        var name = new Option<string>("--name") { Description = "A label for the token.", Required = true };
        var roles = new Option<string[]>("--role") { Description = "admin, key-officer, operator, application, auditor or approver (repeat for several).", Required = true, AllowMultipleArgumentsPerToken = true };
        var patterns = new Option<string[]>("--pattern") { Description = "Keys it may touch: a name, 'prefix/*' or '*' (repeat for several).", Required = true, AllowMultipleArgumentsPerToken = true };
        var ttl = new Option<string?>("--ttl") { Description = "Lifetime, for example 1h or 90d (default: no expiry)." };
        var approval = new Option<string?>("--approval") { Description = "Under dual control: the approved approval for exactly this token (admin and approver tokens), asked for by you." };
        var command = new Command("create", "Issue a token; its secret is printed this once.") { name, roles, patterns, ttl, approval };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            TimeSpan? lifetime = null;
            if (parse.GetValue(ttl) is { } text)
            {
                lifetime = Durations.TryParse(text, out var d) && d > TimeSpan.Zero ? d : throw new UsageException($"'{text}' is not a positive duration like 1h or 90d.");
            }

            var request = new TokenCreateRequest(parse.GetValue(name), parse.GetValue(roles), parse.GetValue(patterns), (long?)lifetime?.TotalSeconds, parse.GetValue(approval));
            TokenCreatedResponse created;
            if (GlobalOptions.ServerAddress() is { } address)
            {
                using var client = GlobalOptions.OpenClient(address);
                created = await client.CreateTokenAsync(request, ct).ConfigureAwait(false);
            }
            else
            {
                await using var open = await StoreHome.Open(parse.GetValue(globals.Dir)!).OpenServiceAsync(null, ct).ConfigureAwait(false);
                var change = LocalChange();
                if (request.ApprovalId is { } approvalId && open.Service.Approvals is Rekey.Lifecycle.ApprovalGate gate)
                {
                    change = change with { Approval = await gate.CollectAsync(approvalId, change.Actor, ct).ConfigureAwait(false) };
                }

                var (issued, secret) = await TokenIssuer.IssueAsync((ITokenStore)open.Store, request, change, TimeProvider.System, open.Service.Approvals, ct).ConfigureAwait(false);
                created = new TokenCreatedResponse(Rekey.Server.Access.TokenMapping.ToResource(issued), secret);
            }

            globals.OutputFor(parse).Message(
                $"Token {created.Token.Id} ({created.Token.Name}) issued. Its secret, shown only now:\n{created.Secret}",
                new { token = created.Token, secret = created.Secret });
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List(GlobalOptions globals)
    {
        var command = new Command("list", "List tokens (never their secrets).");
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            IReadOnlyList<TokenResource> tokens;
            if (GlobalOptions.ServerAddress() is { } address)
            {
                using var client = GlobalOptions.OpenClient(address);
                tokens = await client.ListTokensAsync(ct).ConfigureAwait(false);
            }
            else
            {
                await using var open = await StoreHome.Open(parse.GetValue(globals.Dir)!).OpenServiceAsync(null, ct).ConfigureAwait(false);
                tokens = (await ((ITokenStore)open.Store).ListTokensAsync(ct).ConfigureAwait(false)).Select(Rekey.Server.Access.TokenMapping.ToResource).ToList();
            }

            globals.OutputFor(parse).Tokens(tokens);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Revoke(GlobalOptions globals)
    {
        var id = new Argument<string>("id") { Description = "The token's id (not its secret)." };
        var command = new Command("revoke", "Revoke a token.") { id };
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var tokenId = parse.GetValue(id)!;
            if (GlobalOptions.ServerAddress() is { } address)
            {
                using var client = GlobalOptions.OpenClient(address);
                await client.RevokeTokenAsync(tokenId, ct).ConfigureAwait(false);
            }
            else
            {
                await using var open = await StoreHome.Open(parse.GetValue(globals.Dir)!).OpenServiceAsync(null, ct).ConfigureAwait(false);
                await TokenIssuer.RevokeAsync((ITokenStore)open.Store, tokenId, LocalChange(), TimeProvider.System, ct).ConfigureAwait(false);
            }

            globals.OutputFor(parse).Message($"Token {tokenId} revoked.", new { id = tokenId, revoked = true });
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Self(GlobalOptions globals)
    {
        var command = new Command("self", "Show the token in REKEY_TOKEN (needs REKEY_ADDR).");
        command.SetAction((parse, ct) => CliApp.Guard(globals, async () =>
        {
            var address = GlobalOptions.ServerAddress() ?? throw new UsageException("'rekey token self' asks a server: set REKEY_ADDR and REKEY_TOKEN.");
            using var client = GlobalOptions.OpenClient(address);
            globals.OutputFor(parse).Tokens([await client.GetSelfAsync(ct).ConfigureAwait(false)]);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static ChangeContext LocalChange() => new(StoreHome.ActorName());
}
