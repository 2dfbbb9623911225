namespace Rekey;

/// <summary>
/// What an application or operator can ask of Rekey, whether in-process (<c>RekeyService</c> in Rekey.Core)
/// or over HTTP (the Rekey.Client package): the same calls, the same records, the same error codes.
/// </summary>
/// <remarks>
/// Over HTTP the server decides the actor from the bearer token; only <see cref="ChangeContext.Reason"/>
/// travels from the caller.
/// </remarks>
public interface IKeyService : IKeyManager, ICryptoService, IAuditService;
