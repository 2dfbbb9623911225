using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Rekey.Api;
using Rekey.Audit;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;

namespace Rekey.Client;

/// <summary>
/// A typed client for a Rekey server's <c>/v1</c> API. It implements <see cref="IKeyService"/>,
/// so code written against the in-process service runs unchanged against a server: the same
/// records, and the same <see cref="RekeyException"/> codes read back from problem documents.
/// Thread-safe; keep one per server.
/// </summary>
/// <remarks>
/// A server that cannot be reached, or answers 503, surfaces as <see cref="RekeyStoreException"/>
/// (transient). <see cref="VerifyAuditAsync(Rekey.Audit.AuditVerifyOptions, System.Threading.CancellationToken)"/> does not trust the server's verdict: it downloads
/// the events, checkpoints and public keys and verifies them here.
/// </remarks>
public sealed class RekeyClient : IKeyService, IDisposable
{
    private const int AuditPage = 1000;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly RekeyClientOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates a client for the server at <paramref name="address"/> using bearer <paramref name="token"/>, with the default timeout and retries.</summary>
    /// <param name="address">The server's base address, for example <c>http://127.0.0.1:8200</c>.</param>
    /// <param name="token">The bearer token's secret.</param>
    /// <param name="http">An HttpClient to use (its base address and auth header are set); a new one when null.</param>
    public RekeyClient(Uri address, string token, HttpClient? http = null)
        : this(new RekeyClientOptions { Address = address, Token = token }, http)
    {
    }

    /// <summary>Creates a client from <paramref name="options"/>: address, token, trusted CA, timeout and retries.</summary>
    /// <param name="options">Where and how to connect; see <see cref="RekeyClientOptions.Validate"/>.</param>
    /// <param name="http">An HttpClient to use (its base address and auth header are set, and <see cref="RekeyClientOptions.CaCertificateFile"/> is then the caller's business); a new one when null.</param>
    /// <exception cref="RekeyException"><see cref="RekeyErrorCode.InvalidRequest"/> naming every problem with the options.</exception>
    public RekeyClient(RekeyClientOptions options, HttpClient? http = null)
        : this(options, http, TimeProvider.System)
    {
    }

    /// <summary>Creates a client whose timeouts and retry waits run on <paramref name="time"/> (tests drive it by hand).</summary>
    public RekeyClient(RekeyClientOptions options, HttpClient? http, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { Count: > 0 } problems)
        {
            throw new RekeyException(RekeyErrorCode.InvalidRequest, string.Join(" ", problems));
        }

        _options = options;
        _ownsHttp = http is null;
        if (http is null)
        {
            // This client enforces its own per-attempt timeout, so HttpClient's must not cut in first.
            http = options.CaCertificateFile is { Length: > 0 } ca ? new HttpClient(TrustedRoots.Handler(ca)) : new HttpClient();
            http.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
        }

        _http = http;
        _http.BaseAddress = options.Address;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.Token);
    }

    /// <inheritdoc />
    public async Task<KeyInfo> CreateKeyAsync(KeyName name, KeyCreateOptions? options = null, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var body = new KeyCreateRequest((long?)options?.DestructionDelay?.TotalSeconds, options?.DeletionAllowed, change?.Reason);
        var key = await SendAsync(HttpMethod.Post, "v1/keys/" + Path(name), body, ApiJsonContext.Default.KeyCreateRequest, ApiJsonContext.Default.KeyResource, cancellationToken).ConfigureAwait(false);
        return ApiMapping.FromResource(key!);
    }

    /// <inheritdoc />
    public async Task<KeyInfo> GetKeyAsync(KeyName name, CancellationToken cancellationToken = default) =>
        ApiMapping.FromResource(await ReadKeyAsync(name, cancellationToken).ConfigureAwait(false));

    /// <inheritdoc />
    public async Task<IReadOnlyList<KeyInfo>> ListKeysAsync(string? prefix = null, CancellationToken cancellationToken = default)
    {
        var keys = new List<KeyInfo>();
        string? after = null;
        do
        {
            var query = new StringBuilder("v1/keys?limit=1000");
            if (prefix is not null)
            {
                query.Append("&prefix=").Append(Uri.EscapeDataString(prefix));
            }

            if (after is not null)
            {
                query.Append("&after=").Append(Uri.EscapeDataString(after));
            }

            var page = await GetAsync(query.ToString(), ApiJsonContext.Default.KeyListResponse, cancellationToken).ConfigureAwait(false);
            keys.AddRange(page.Keys.Select(ApiMapping.FromResource));
            after = page.NextAfter;
        }
        while (after is not null);
        return keys;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<KeyVersionInfo>> ListVersionsAsync(KeyName name, CancellationToken cancellationToken = default)
    {
        // The server pages a key's versions; follow the pages to the end.
        var versions = new List<KeyVersionInfo>();
        int? after = 0;
        while (after is { } position)
        {
            var page = await GetAsync(string.Create(CultureInfo.InvariantCulture, $"v1/keys/{Path(name)}?versions_after={position}&versions_limit=1000"), ApiJsonContext.Default.KeyResource, cancellationToken).ConfigureAwait(false);
            versions.AddRange(page.Versions?.Select(ApiMapping.FromResource) ?? []);
            after = page.NextVersionsAfter;
        }

        return versions;
    }

    /// <inheritdoc />
    public async Task<KeyInfo> UpdateKeyAsync(KeyName name, KeyConfigUpdate update, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        var body = new KeyUpdateRequest(null, (long?)update.DestructionDelay?.TotalSeconds, update.DeletionAllowed, change?.Reason);
        return ApiMapping.FromResource((await SendAsync(HttpMethod.Patch, "v1/keys/" + Path(name), body, ApiJsonContext.Default.KeyUpdateRequest, ApiJsonContext.Default.KeyResource, cancellationToken).ConfigureAwait(false))!);
    }

    /// <inheritdoc />
    public Task DeleteKeyAsync(KeyName name, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        SendAsync<object, object>(HttpMethod.Delete, "v1/keys/" + Path(name) + ReasonQuery(change), null, null, null, cancellationToken);

    /// <inheritdoc />
    public async Task<KeyVersionInfo> RotateAsync(KeyName name, RotateOptions? options = null, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var body = new RotateRequest(options?.ExpectedActiveVersion, options is { Activate: false } ? true : null, change?.Reason);
        return ApiMapping.FromResource((await SendAsync(HttpMethod.Post, "v1/rotate/" + Path(name), body, ApiJsonContext.Default.RotateRequest, ApiJsonContext.Default.VersionResource, cancellationToken).ConfigureAwait(false))!);
    }

    /// <inheritdoc />
    public async Task<ImportParameters> CreateImportTokenAsync(KeyName name, TimeSpan? validFor = null, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var body = new ImportTokenRequest(validFor is { } lifetime ? (long)lifetime.TotalSeconds : null, change?.Reason);
        var issued = (await SendAsync(HttpMethod.Post, "v1/import-token/" + Path(name), body, ApiJsonContext.Default.ImportTokenRequest, ApiJsonContext.Default.ImportTokenResource, cancellationToken).ConfigureAwait(false))!;
        return new ImportParameters(KeyName.Parse(issued.Key), issued.Token, issued.PublicKey, issued.Algorithm, issued.ExpiresAt);
    }

    /// <inheritdoc />
    public async Task<KeyVersionInfo> ImportAsync(KeyName name, string token, ReadOnlyMemory<byte> wrappedMaterial, bool activate = true, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var body = new ImportRequest(token, Convert.ToBase64String(wrappedMaterial.Span), activate ? null : true, change?.Reason);
        return ApiMapping.FromResource((await SendAsync(HttpMethod.Post, "v1/import/" + Path(name), body, ApiJsonContext.Default.ImportRequest, ApiJsonContext.Default.VersionResource, cancellationToken).ConfigureAwait(false))!);
    }

    /// <inheritdoc />
    public Task<KeyVersionInfo> ActivateAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync("activate", name, new VersionChangeRequest(version, null, change?.Reason), cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> DisableAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync("disable", name, new VersionChangeRequest(version, null, change?.Reason), cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> EnableAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync("enable", name, new VersionChangeRequest(version, null, change?.Reason), cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> RetireAsync(KeyName name, int version, TimeSpan gracePeriod, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync("retire", name, new VersionChangeRequest(version, (long)gracePeriod.TotalSeconds, change?.Reason), cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> ScheduleDestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync("schedule-destroy", name, new VersionChangeRequest(version, null, change?.Reason), cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> CancelDestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync("cancel-destroy", name, new VersionChangeRequest(version, null, change?.Reason), cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> DestroyAsync(KeyName name, int version, ChangeContext? change = null, CancellationToken cancellationToken = default) =>
        TransitionAsync("destroy", name, new VersionChangeRequest(version, null, change?.Reason), cancellationToken);

    /// <inheritdoc />
    public Task<KeyVersionInfo> DestroyAsync(KeyName name, int version, DestroyOptions options, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return TransitionAsync("destroy", name, new VersionChangeRequest(version, null, change?.Reason, options.Force ? true : null), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<KeyInfo> SetMinDecryptionVersionAsync(KeyName name, int minVersion, ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var body = new KeyUpdateRequest(minVersion, null, null, change?.Reason);
        return ApiMapping.FromResource((await SendAsync(HttpMethod.Patch, "v1/keys/" + Path(name), body, ApiJsonContext.Default.KeyUpdateRequest, ApiJsonContext.Default.KeyResource, cancellationToken).ConfigureAwait(false))!);
    }

    /// <inheritdoc />
    public async ValueTask<byte[]> EncryptAsync(KeyName name, ReadOnlyMemory<byte> plaintext, EncryptionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var body = new EncryptRequest(Convert.ToBase64String(plaintext.Span), context.Value);
        var result = await SendAsync(HttpMethod.Post, "v1/encrypt/" + Path(name), body, ApiJsonContext.Default.EncryptRequest, ApiJsonContext.Default.CryptoResult, cancellationToken, safeToRepeat: true).ConfigureAwait(false);
        return EnvelopeText.Decode(result!.Ciphertext!);
    }

    /// <inheritdoc />
    public async ValueTask<byte[]> DecryptAsync(KeyName key, ReadOnlyMemory<byte> envelope, EncryptionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var text = Describe(key, envelope);
        var result = await SendAsync(HttpMethod.Post, "v1/decrypt/" + Path(key), new DecryptRequest(text, context.Value), ApiJsonContext.Default.DecryptRequest, ApiJsonContext.Default.CryptoResult, cancellationToken, safeToRepeat: true).ConfigureAwait(false);
        return Convert.FromBase64String(result!.Plaintext!);
    }

    /// <inheritdoc />
    public async ValueTask<byte[]> RewrapAsync(KeyName key, ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken = default)
    {
        var text = Describe(key, envelope);
        var result = await SendAsync(HttpMethod.Post, "v1/rewrap/" + Path(key), new RewrapRequest(text), ApiJsonContext.Default.RewrapRequest, ApiJsonContext.Default.CryptoResult, cancellationToken, safeToRepeat: true).ConfigureAwait(false);
        return EnvelopeText.Decode(result!.Ciphertext!);
    }

    /// <inheritdoc />
    public async ValueTask<DataKey> GenerateDataKeyAsync(KeyName name, EncryptionContext context, bool includePlaintext = true, int length = 32, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var body = new DataKeyRequest(context.Value, includePlaintext ? null : true, length);
        var result = await SendAsync(HttpMethod.Post, "v1/datakey/" + Path(name), body, ApiJsonContext.Default.DataKeyRequest, ApiJsonContext.Default.CryptoResult, cancellationToken, safeToRepeat: true).ConfigureAwait(false);
        return new DataKey(result!.Plaintext is null ? null : Convert.FromBase64String(result.Plaintext), EnvelopeText.Decode(result.Ciphertext!));
    }

    /// <summary>Encrypts a batch in one request; results come back in order, each a ciphertext or an error.</summary>
    public async Task<BatchResponse> EncryptBatchAsync(KeyName name, IReadOnlyList<EncryptItem> items, CancellationToken cancellationToken = default) =>
        (await SendAsync(HttpMethod.Post, "v1/encrypt/" + Path(name), new EncryptRequest(Items: items), ApiJsonContext.Default.EncryptRequest, ApiJsonContext.Default.BatchResponse, cancellationToken, safeToRepeat: true).ConfigureAwait(false))!;

    /// <summary>Decrypts a batch in one request; results come back in order, each a plaintext or an error.</summary>
    public async Task<BatchResponse> DecryptBatchAsync(KeyName name, IReadOnlyList<DecryptItem> items, CancellationToken cancellationToken = default) =>
        (await SendAsync(HttpMethod.Post, "v1/decrypt/" + Path(name), new DecryptRequest(Items: items), ApiJsonContext.Default.DecryptRequest, ApiJsonContext.Default.BatchResponse, cancellationToken, safeToRepeat: true).ConfigureAwait(false))!;

    /// <inheritdoc />
    public async Task<IReadOnlyList<AuditEvent>> ReadAuditAsync(long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default)
    {
        var page = await GetAsync(string.Create(CultureInfo.InvariantCulture, $"v1/audit/events?after={afterSequence}&limit={Math.Min(limit, AuditPage)}"), ApiJsonContext.Default.AuditEventsResponse, cancellationToken).ConfigureAwait(false);
        return page.Events.Select(ApiMapping.FromResource).ToList();
    }

    /// <inheritdoc />
    public async Task<AuditCheckpoint?> CheckpointAuditAsync(ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var checkpoint = await SendAsync<object, CheckpointResource>(HttpMethod.Post, "v1/audit/checkpoints", null, null, ApiJsonContext.Default.CheckpointResource, cancellationToken).ConfigureAwait(false);
        return checkpoint is null ? null : ApiMapping.FromResource(checkpoint);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, byte[]>> GetAuditPublicKeysAsync(CancellationToken cancellationToken = default)
    {
        var keys = await GetAsync("v1/audit/public-keys", ApiJsonContext.Default.PublicKeysResponse, cancellationToken).ConfigureAwait(false);
        return keys.Keys.ToDictionary(k => k.KeyId, k => Convert.FromBase64String(k.PublicKey), StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public async Task<AuditKeyRotation> RotateAuditSigningKeyAsync(ChangeContext? change = null, CancellationToken cancellationToken = default)
    {
        var rotated = await SendAsync<object, SigningKeyRotatedResponse>(HttpMethod.Post, "v1/audit/signing-keys/rotate", null, null, ApiJsonContext.Default.SigningKeyRotatedResponse, cancellationToken).ConfigureAwait(false);
        return new AuditKeyRotation(rotated!.KeyId, ApiMapping.FromResource(rotated.Checkpoint));
    }

    /// <summary>Every signed checkpoint the server holds.</summary>
    public async Task<IReadOnlyList<AuditCheckpoint>> GetCheckpointsAsync(CancellationToken cancellationToken = default) =>
        (await GetAsync("v1/audit/checkpoints", ApiJsonContext.Default.CheckpointsResponse, cancellationToken).ConfigureAwait(false)).Checkpoints.Select(ApiMapping.FromResource).ToList();

    /// <summary>Verifies the chain here, against the server's checkpoints and the expected head.</summary>
    public Task<AuditVerification> VerifyAuditAsync(AuditHead? expectedHead = null, CancellationToken cancellationToken = default) =>
        VerifyAuditAsync(new AuditVerifyOptions(expectedHead), cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// Runs here, not on the server: events, checkpoints and keys are downloaded and checked
    /// locally, against the pinned keys and witness given. Proving that the stored signing keys
    /// were made under the root needs the root; the server's <c>/v1/audit/verify</c> does that.
    /// </remarks>
    public async Task<AuditVerification> VerifyAuditAsync(AuditVerifyOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var checkpoints = await GetCheckpointsAsync(cancellationToken).ConfigureAwait(false);
        var verifier = new AuditVerifier(options, checkpoints, await GetAuditPublicKeysAsync(cancellationToken).ConfigureAwait(false));
        long after = 0;
        while (true)
        {
            var page = await GetAsync(string.Create(CultureInfo.InvariantCulture, $"v1/audit/events?after={after}&limit={AuditPage}"), ApiJsonContext.Default.AuditEventsResponse, cancellationToken).ConfigureAwait(false);
            foreach (var e in page.Events)
            {
                if (!verifier.Add(ApiMapping.FromResource(e)))
                {
                    return verifier.Complete();
                }
            }

            if (page.NextAfter is not { } next)
            {
                return verifier.Complete();
            }

            after = next;
        }
    }

    /// <summary>Issues a token (admin only); the secret in the answer is shown this once.</summary>
    public async Task<TokenCreatedResponse> CreateTokenAsync(TokenCreateRequest request, CancellationToken cancellationToken = default) =>
        (await SendAsync(HttpMethod.Post, "v1/tokens", request, ApiJsonContext.Default.TokenCreateRequest, ApiJsonContext.Default.TokenCreatedResponse, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Lists tokens (admin only); never their secrets.</summary>
    public async Task<IReadOnlyList<TokenResource>> ListTokensAsync(CancellationToken cancellationToken = default) =>
        (await GetAsync("v1/tokens", ApiJsonContext.Default.TokensResponse, cancellationToken).ConfigureAwait(false)).Tokens;

    /// <summary>Revokes a token (admin only).</summary>
    public Task RevokeTokenAsync(string id, CancellationToken cancellationToken = default) =>
        SendAsync<object, object>(HttpMethod.Delete, "v1/tokens/" + Uri.EscapeDataString(id), null, null, null, cancellationToken);

    /// <summary>The token this client uses.</summary>
    public Task<TokenResource> GetSelfAsync(CancellationToken cancellationToken = default) =>
        GetAsync("v1/tokens/self", ApiJsonContext.Default.TokenResource, cancellationToken);

    /// <summary>Starts a re-wrap job for a key; the server runs it in the background.</summary>
    public async Task<RewrapJobResource> StartRewrapJobAsync(KeyName key, RewrapJobRequest request, CancellationToken cancellationToken = default) =>
        (await SendAsync(HttpMethod.Post, "v1/jobs/rewrap/" + Path(key), request, ApiJsonContext.Default.RewrapJobRequest, ApiJsonContext.Default.RewrapJobResource, cancellationToken).ConfigureAwait(false))!;

    /// <summary>A re-wrap job's progress.</summary>
    public Task<RewrapJobResource> GetRewrapJobAsync(string id, CancellationToken cancellationToken = default) =>
        GetAsync("v1/jobs/" + Uri.EscapeDataString(id), ApiJsonContext.Default.RewrapJobResource, cancellationToken);

    /// <summary>Every re-wrap job the token may see.</summary>
    public async Task<IReadOnlyList<RewrapJobResource>> ListRewrapJobsAsync(CancellationToken cancellationToken = default) =>
        (await GetAsync("v1/jobs", ApiJsonContext.Default.RewrapJobsResponse, cancellationToken).ConfigureAwait(false)).Jobs;

    /// <summary>Pauses, resumes or cancels a re-wrap job (<paramref name="action"/> is <c>pause</c>, <c>resume</c> or <c>cancel</c>).</summary>
    public async Task<RewrapJobResource> ControlRewrapJobAsync(string id, string action, CancellationToken cancellationToken = default) =>
        (await SendAsync<object, RewrapJobResource>(HttpMethod.Post, $"v1/jobs/{Uri.EscapeDataString(id)}/{Uri.EscapeDataString(action)}", null, null, ApiJsonContext.Default.RewrapJobResource, cancellationToken).ConfigureAwait(false))!;

    /// <summary>The records a re-wrap job could not move.</summary>
    public async Task<IReadOnlyList<RewrapFailureResource>> GetRewrapFailuresAsync(string id, CancellationToken cancellationToken = default) =>
        (await GetAsync($"v1/jobs/{Uri.EscapeDataString(id)}/failures", ApiJsonContext.Default.RewrapFailuresResponse, cancellationToken).ConfigureAwait(false)).Failures;

    /// <summary>Registers a data source (admin or key-officer, <c>*</c> scope); its connection is never returned.</summary>
    public async Task<DataSourceResource> RegisterSourceAsync(DataSourceRequest request, CancellationToken cancellationToken = default) =>
        (await SendAsync(HttpMethod.Post, "v1/sources", request, ApiJsonContext.Default.DataSourceRequest, ApiJsonContext.Default.DataSourceResource, cancellationToken).ConfigureAwait(false))!;

    /// <summary>The registered data sources whose keys the token's patterns overlap.</summary>
    public async Task<IReadOnlyList<DataSourceResource>> ListSourcesAsync(CancellationToken cancellationToken = default) =>
        (await GetAsync("v1/sources", ApiJsonContext.Default.DataSourcesResponse, cancellationToken).ConfigureAwait(false)).Sources;

    /// <summary>One registered data source.</summary>
    public Task<DataSourceResource> GetSourceAsync(string name, CancellationToken cancellationToken = default) =>
        GetAsync("v1/sources/" + Uri.EscapeDataString(name), ApiJsonContext.Default.DataSourceResource, cancellationToken);

    /// <summary>Removes a registered data source.</summary>
    public Task RemoveSourceAsync(string name, CancellationToken cancellationToken = default) =>
        SendAsync<object, object>(HttpMethod.Delete, "v1/sources/" + Uri.EscapeDataString(name), null, null, null, cancellationToken);

    /// <summary>Sets (or replaces) the lifecycle policy on a pattern.</summary>
    public async Task<PolicyResource> SetPolicyAsync(PolicySetRequest request, CancellationToken cancellationToken = default) =>
        (await SendAsync(HttpMethod.Put, "v1/policies", request, ApiJsonContext.Default.PolicySetRequest, ApiJsonContext.Default.PolicyResource, cancellationToken, safeToRepeat: true).ConfigureAwait(false))!;

    /// <summary>The lifecycle policies whose patterns the token's patterns overlap.</summary>
    public async Task<IReadOnlyList<PolicyResource>> ListPoliciesAsync(CancellationToken cancellationToken = default) =>
        (await GetAsync("v1/policies", ApiJsonContext.Default.PoliciesResponse, cancellationToken).ConfigureAwait(false)).Policies;

    /// <summary>Removes the lifecycle policy on a pattern.</summary>
    public Task UnsetPolicyAsync(string pattern, string? reason = null, CancellationToken cancellationToken = default) =>
        SendAsync<object, object>(HttpMethod.Delete, "v1/policies?pattern=" + Uri.EscapeDataString(pattern) + (reason is null ? string.Empty : "&reason=" + Uri.EscapeDataString(reason)), null, null, null, cancellationToken);

    /// <summary>The policy a key follows, each field with the pattern it came from.</summary>
    public Task<EffectivePolicyResource> GetEffectivePolicyAsync(KeyName key, CancellationToken cancellationToken = default) =>
        GetAsync("v1/policies/effective/" + Path(key), ApiJsonContext.Default.EffectivePolicyResource, cancellationToken);

    /// <summary>Rotation records, newest first: of one key, or of every key the token covers.</summary>
    public async Task<IReadOnlyList<RotationResource>> ListRotationsAsync(KeyName? key = null, int limit = 100, CancellationToken cancellationToken = default) =>
        (await GetAsync(
            "v1/rotations?limit=" + limit.ToString(System.Globalization.CultureInfo.InvariantCulture) + (key is { } k ? "&key=" + Uri.EscapeDataString(k.Value) : string.Empty),
            ApiJsonContext.Default.RotationsResponse,
            cancellationToken).ConfigureAwait(false)).Rotations;

    /// <summary>One rotation record.</summary>
    public Task<RotationResource> GetRotationAsync(string id, CancellationToken cancellationToken = default) =>
        GetAsync("v1/rotations/" + Uri.EscapeDataString(id), ApiJsonContext.Default.RotationResource, cancellationToken);

    /// <summary>Sends a failed rotation back to the phase it failed in.</summary>
    public async Task<RotationResource> RetryRotationAsync(string id, string? reason = null, CancellationToken cancellationToken = default) =>
        (await SendAsync<object, RotationResource>(HttpMethod.Post, "v1/rotations/" + Uri.EscapeDataString(id) + "/retry" + (reason is null ? string.Empty : "?reason=" + Uri.EscapeDataString(reason)), null, null, ApiJsonContext.Default.RotationResource, cancellationToken).ConfigureAwait(false))!;

    /// <summary>How many values each version of a key protects, per source.</summary>
    public Task<InventoryResponse> GetInventoryAsync(KeyName key, CancellationToken cancellationToken = default) =>
        GetAsync("v1/inventory/" + Path(key), ApiJsonContext.Default.InventoryResponse, cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private static string Path(KeyName name) => string.Join('/', name.Value.Split('/').Select(Uri.EscapeDataString));

    private static string ReasonQuery(ChangeContext? change) => change?.Reason is { } reason ? "?reason=" + Uri.EscapeDataString(reason) : string.Empty;

    // The envelope's text form, refused here (as the service would) when it is under another key.
    private static string Describe(KeyName expected, ReadOnlyMemory<byte> envelope)
    {
        var span = envelope.Span;
        string text;
        byte[]? decoded = null;
        try
        {
            if (span.StartsWith("rekey:v"u8))
            {
                text = Encoding.ASCII.GetString(span).Trim();
                decoded = EnvelopeText.Decode(text);
            }
            else
            {
                text = EnvelopeText.Encode(span);
            }
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw RekeyException.DecryptionFailed();
        }

        EnvelopeReader.EnsureUnder(decoded is null ? span : decoded, expected);
        return text;
    }

    private Task<KeyResource> ReadKeyAsync(KeyName name, CancellationToken cancellationToken) =>
        GetAsync("v1/keys/" + Path(name), ApiJsonContext.Default.KeyResource, cancellationToken);

    private async Task<KeyVersionInfo> TransitionAsync(string verb, KeyName name, VersionChangeRequest body, CancellationToken cancellationToken) =>
        ApiMapping.FromResource((await SendAsync(HttpMethod.Post, $"v1/{verb}/{Path(name)}", body, ApiJsonContext.Default.VersionChangeRequest, ApiJsonContext.Default.VersionResource, cancellationToken).ConfigureAwait(false))!);

    private async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class =>
        (await SendAsync<object, T>(HttpMethod.Get, path, null, null, type, cancellationToken, safeToRepeat: true).ConfigureAwait(false))
        ?? throw new RekeyStoreException($"The server answered {path} with no body.", isTransient: false);

    /// <summary>Approvals the token covers, newest first (<c>GET /v1/approvals</c>), in <paramref name="state"/> when given.</summary>
    public async Task<IReadOnlyList<ApprovalResource>> ListApprovalsAsync(string? state = null, CancellationToken cancellationToken = default) =>
        (await GetAsync("v1/approvals" + (state is null ? string.Empty : "?state=" + Uri.EscapeDataString(state)), ApiJsonContext.Default.ApprovalsResponse, cancellationToken).ConfigureAwait(false)).Approvals;

    /// <summary>One approval (<c>GET /v1/approvals/{id}</c>).</summary>
    public Task<ApprovalResource> GetApprovalAsync(string id, CancellationToken cancellationToken = default) =>
        GetAsync("v1/approvals/" + Uri.EscapeDataString(id), ApiJsonContext.Default.ApprovalResource, cancellationToken);

    /// <summary>Approves (<paramref name="approve"/>) or denies an approval as this token; returns it as it then stands (executed when this was the last approval needed).</summary>
    public async Task<ApprovalResource> DecideApprovalAsync(string id, bool approve, string? comment = null, CancellationToken cancellationToken = default) =>
        (await SendAsync(HttpMethod.Post, $"v1/approvals/{Uri.EscapeDataString(id)}/{(approve ? "approve" : "deny")}", new ApprovalDecisionRequest(comment), ApiJsonContext.Default.ApprovalDecisionRequest, ApiJsonContext.Default.ApprovalResource, cancellationToken).ConfigureAwait(false))!;

    private static RekeyException Held(ApprovalResource approval) =>
        new(RekeyErrorCode.ApprovalPending, string.Create(CultureInfo.InvariantCulture, $"'{approval.Summary}' needs approval by {approval.Required} approver(s) other than {approval.Requester}: approval {approval.Id} is pending until {approval.ExpiresAt:u} (rekey approval approve {approval.Id})."))
        {
            ApprovalId = approval.Id,
        };

    // safeToRepeat: reads and the data plane change nothing (a repeated encrypt only makes another
    // ciphertext), so they are retried; everything else might have been applied before its answer
    // was lost, so it is not.
    /// <summary>
    /// The compliance report (<c>GET /v1/report</c>) for the keys <paramref name="pattern"/> selects that
    /// the token covers, as <paramref name="format"/> (<c>json</c>, <c>markdown</c> or <c>html</c>) text.
    /// </summary>
    public async Task<string> GetReportAsync(string pattern, string format, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(format);
        var path = $"v1/report?pattern={Uri.EscapeDataString(pattern)}&format={Uri.EscapeDataString(format)}";
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await _http.GetAsync(path, deadline.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
            }

            return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new RekeyStoreException($"The Rekey server at {Where} did not answer GET /v1/report: {e.Message}", isTransient: true, e);
        }
    }

    private async Task<TResponse?> SendAsync<TRequest, TResponse>(HttpMethod method, string path, TRequest? body, JsonTypeInfo<TRequest>? bodyType, JsonTypeInfo<TResponse>? responseType, CancellationToken cancellationToken, bool safeToRepeat = false)
        where TRequest : class
        where TResponse : class
    {
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null)
            {
                request.Content = JsonContent.Create(body, bodyType!);
            }

            using var timeout = new CancellationTokenSource(_options.Timeout, _time);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                // Not repeated: the server may still be working on it, and the caller has waited long enough.
                throw new RekeyStoreException(string.Create(CultureInfo.InvariantCulture, $"The Rekey server at {Where} did not answer {method} /{PathOnly(path)} within {_options.Timeout.TotalSeconds:0.###} s."), isTransient: true, e);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException)
            {
                // A reset connection can surface as a bare socket or I/O error, not only HttpRequestException.
                if (safeToRepeat && attempt < _options.MaxRetries)
                {
                    await Task.Delay(Backoff(attempt, null), _time, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                throw new RekeyStoreException($"The Rekey server at {Where} cannot be reached: {e.Message}", isTransient: true, e);
            }

            if (safeToRepeat && attempt < _options.MaxRetries && IsRetryableStatus(response.StatusCode))
            {
                var wait = Backoff(attempt, response.Headers.RetryAfter);
                response.Dispose();
                await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            return await ReadAnswerAsync(response, path, responseType, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<TResponse?> ReadAnswerAsync<TResponse>(HttpResponseMessage response, string path, JsonTypeInfo<TResponse>? responseType, CancellationToken cancellationToken)
        where TResponse : class
    {
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
            }

            // Held for dual control: nothing happened yet, so the caller hears it as the typed
            // refusal it would get in process, with the approval to follow.
            if (response.StatusCode == HttpStatusCode.Accepted && typeof(TResponse) != typeof(ApprovalResource))
            {
                var held = await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.ApprovalResource, cancellationToken).ConfigureAwait(false);
                throw Held(held!);
            }

            if (responseType is null || response.StatusCode == HttpStatusCode.NoContent)
            {
                return null;
            }

            try
            {
                return await response.Content.ReadFromJsonAsync(responseType, cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException e)
            {
                throw new RekeyStoreException($"The server's answer to {path} is not what this client understands: {e.Message}", isTransient: false, e);
            }
        }
    }

    private static bool IsRetryableStatus(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private static string PathOnly(string path) => path.Split('?')[0];

    // The server in messages: scheme, host and port, never user information an address may carry.
    private string Where => _options.Address!.GetComponents(UriComponents.SchemeAndServer, UriFormat.SafeUnescaped);

    private TimeSpan Backoff(int attempt, RetryConditionHeaderValue? retryAfter)
    {
        var doubling = _options.RetryDelay * Math.Pow(2, attempt);
        var told = retryAfter?.Delta;
        return told is { } delta && delta > TimeSpan.Zero && delta < _options.Timeout ? delta : doubling;
    }

    private static async Task<Exception> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        Problem? problem = null;
        try
        {
            problem = await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.Problem, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            // Not a problem document (a proxy's error page, say): reported by status below.
        }

        var status = (int)response.StatusCode;
        if (problem is not null && Enum.TryParse<RekeyErrorCode>(problem.Code, out var code) && Enum.IsDefined(code))
        {
            return code == RekeyErrorCode.StoreUnavailable
                ? new RekeyStoreException(problem.Detail, isTransient: true)
                : new RekeyException(code, problem.Detail);
        }

        return new RekeyStoreException(string.Create(CultureInfo.InvariantCulture, $"The server answered {status} {response.ReasonPhrase} without a Rekey problem document."), isTransient: status >= 500);
    }
}
