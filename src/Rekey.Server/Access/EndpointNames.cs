namespace Rekey.Server.Access;

/// <summary>The names endpoints are mapped under; the policy table is keyed by them.</summary>
internal static class EndpointNames
{
    public const string Health = "health.live";
    public const string Ready = "health.ready";
    public const string OpenApi = "openapi";
    public const string KeyCreate = "keys.create";
    public const string KeyList = "keys.list";
    public const string KeyRead = "keys.read";
    public const string KeyUpdate = "keys.update";
    public const string KeyDelete = "keys.delete";
    public const string Rotate = "versions.rotate";
    public const string Metrics = "sys.metrics";
    public const string ImportToken = "versions.import_token";
    public const string Import = "versions.import";
    public const string Activate = "versions.activate";
    public const string Disable = "versions.disable";
    public const string Enable = "versions.enable";
    public const string Retire = "versions.retire";
    public const string ScheduleDestroy = "versions.schedule_destroy";
    public const string CancelDestroy = "versions.cancel_destroy";
    public const string Destroy = "versions.destroy";
    public const string Encrypt = "crypto.encrypt";
    public const string Decrypt = "crypto.decrypt";
    public const string Rewrap = "crypto.rewrap";
    public const string DataKey = "crypto.datakey";
    public const string AuditEvents = "audit.events";
    public const string AuditVerify = "audit.verify";
    public const string AuditCheckpoints = "audit.checkpoints";
    public const string AuditCheckpointCreate = "audit.checkpoint_create";
    public const string AuditPublicKeys = "audit.public_keys";
    public const string Version = "sys.version";
    public const string AuditSigningKeyRotate = "audit.signing_key_rotate";
    public const string SourceRegister = "sources.register";
    public const string SourceList = "sources.list";
    public const string SourceRead = "sources.read";
    public const string SourceRemove = "sources.remove";
    public const string TokenCreate = "tokens.create";
    public const string TokenList = "tokens.list";
    public const string TokenRevoke = "tokens.revoke";
    public const string TokenSelf = "tokens.self";
    public const string JobStart = "jobs.start";
    public const string JobList = "jobs.list";
    public const string JobRead = "jobs.read";
    public const string JobPause = "jobs.pause";
    public const string JobResume = "jobs.resume";
    public const string JobCancel = "jobs.cancel";
    public const string JobFailures = "jobs.failures";
    public const string Inventory = "jobs.inventory";
    public const string PolicyList = "policies.list";
    public const string PolicySet = "policies.set";
    public const string PolicyUnset = "policies.unset";
    public const string PolicyEffective = "policies.effective";
    public const string RotationList = "rotations.list";
    public const string RotationRead = "rotations.read";
    public const string RotationRetry = "rotations.retry";
}
