namespace Rekey.Access;

/// <summary>
/// What a principal may do. Stored by name, so names never change. Which endpoint needs which
/// role is decided in one policy table by the server.
/// </summary>
public enum Role
{
    /// <summary>Everything, including managing tokens.</summary>
    Admin = 1,

    /// <summary>Key lifecycle: create, rotate, disable, schedule and approve destruction.</summary>
    KeyOfficer = 2,

    /// <summary>Operations: rotate, re-wrap jobs, read key metadata.</summary>
    Operator = 3,

    /// <summary>Data plane: encrypt, decrypt, re-wrap, data keys.</summary>
    Application = 4,

    /// <summary>Read-only: key metadata and the audit log.</summary>
    Auditor = 5,

    /// <summary>
    /// Dual control: approve or deny operations others asked for, on the keys the token covers
    /// (store-wide operations need a token on <c>*</c>). Grants nothing else; a requester never
    /// approves their own request.
    /// </summary>
    Approver = 6,
}
