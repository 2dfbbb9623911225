using System.Diagnostics.CodeAnalysis;
using Rekey.Access;

namespace Rekey.Api;

/// <summary>The roles' names on the wire and on the command line: admin, key-officer, operator, application, auditor, approver.</summary>
public static class RoleNames
{
    /// <summary>The wire name of a role.</summary>
    public static string Of(Role role) => role switch
    {
        Role.Admin => "admin",
        Role.KeyOfficer => "key-officer",
        Role.Operator => "operator",
        Role.Application => "application",
        Role.Auditor => "auditor",
        Role.Approver => "approver",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    /// <summary>Reads a wire name; false for anything else.</summary>
    public static bool TryParse(string? name, [NotNullWhen(true)] out Role? role)
    {
        role = name switch
        {
            "admin" => Role.Admin,
            "key-officer" => Role.KeyOfficer,
            "operator" => Role.Operator,
            "application" => Role.Application,
            "auditor" => Role.Auditor,
            "approver" => Role.Approver,
            _ => null,
        };
        return role is not null;
    }
}
