using System.Text.Json;
using System.Text.Json.Serialization;

namespace Rekey.Api;

/// <summary>
/// The API's JSON: snake_case names, nulls left out, and unknown fields refused (a misspelt
/// <c>expected_verison</c> must not silently rotate unconditionally). Source-generated, so no
/// reflection on the hot path.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowDuplicateProperties = false,
    NumberHandling = JsonNumberHandling.Strict,
    AllowTrailingCommas = false,
    ReadCommentHandling = JsonCommentHandling.Disallow,
    MaxDepth = 16)]
[JsonSerializable(typeof(Problem))]
[JsonSerializable(typeof(PolicySetRequest))]
[JsonSerializable(typeof(PolicyResource))]
[JsonSerializable(typeof(PoliciesResponse))]
[JsonSerializable(typeof(EffectivePolicyResource))]
[JsonSerializable(typeof(RotationResource))]
[JsonSerializable(typeof(RotationsResponse))]
[JsonSerializable(typeof(ErrorsResponse))]
[JsonSerializable(typeof(KeyCreateRequest))]
[JsonSerializable(typeof(KeyUpdateRequest))]
[JsonSerializable(typeof(KeyResource))]
[JsonSerializable(typeof(KeyListResponse))]
[JsonSerializable(typeof(RotateRequest))]
[JsonSerializable(typeof(ImportTokenRequest))]
[JsonSerializable(typeof(ImportTokenResource))]
[JsonSerializable(typeof(ImportRequest))]
[JsonSerializable(typeof(VersionChangeRequest))]
[JsonSerializable(typeof(VersionResource))]
[JsonSerializable(typeof(EncryptRequest))]
[JsonSerializable(typeof(DecryptRequest))]
[JsonSerializable(typeof(RewrapRequest))]
[JsonSerializable(typeof(DataKeyRequest))]
[JsonSerializable(typeof(CryptoResult))]
[JsonSerializable(typeof(BatchResponse))]
[JsonSerializable(typeof(AuditEventsResponse))]
[JsonSerializable(typeof(AuditVerifyResponse))]
[JsonSerializable(typeof(CheckpointResource))]
[JsonSerializable(typeof(CheckpointsResponse))]
[JsonSerializable(typeof(PublicKeysResponse))]
[JsonSerializable(typeof(SigningKeyRotatedResponse))]
[JsonSerializable(typeof(DataSourceRequest))]
[JsonSerializable(typeof(DataSourceResource))]
[JsonSerializable(typeof(DataSourcesResponse))]
[JsonSerializable(typeof(TokenCreateRequest))]
[JsonSerializable(typeof(TokenResource))]
[JsonSerializable(typeof(TokenCreatedResponse))]
[JsonSerializable(typeof(TokensResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(VersionResponse))]
[JsonSerializable(typeof(RewrapJobRequest))]
[JsonSerializable(typeof(RewrapJobResource))]
[JsonSerializable(typeof(RewrapJobsResponse))]
[JsonSerializable(typeof(RewrapFailuresResponse))]
[JsonSerializable(typeof(InventoryResponse))]
[JsonSerializable(typeof(FileHeaderRequest))]
[JsonSerializable(typeof(FileHeaderResult))]
[JsonSerializable(typeof(ApprovalResource))]
[JsonSerializable(typeof(ApprovalsResponse))]
[JsonSerializable(typeof(ApprovalDecisionRequest))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
