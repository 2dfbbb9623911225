using Rekey.Errors;
using Rekey.Root;

namespace Rekey.Providers.AwsKms;

/// <summary>
/// Which AWS KMS key is the root: its id, ARN or alias, and optionally the region. Credentials and
/// the endpoint come from the standard AWS configuration chain (environment, profile, instance
/// role); <see cref="ServiceUrl"/> points it at any KMS-compatible endpoint.
/// </summary>
public sealed class AwsKmsRootOptions
{
    /// <summary>The KMS key: a key id, a key ARN, or an alias (<c>alias/rekey-root</c>).</summary>
    public required string KeyId { get; init; }

    /// <summary>The region; null takes it from the configuration chain.</summary>
    public string? Region { get; init; }

    /// <summary>An endpoint overriding the chain's (tests, KMS-compatible services); null for the chain's.</summary>
    public string? ServiceUrl { get; init; }

    /// <summary>How long one KMS attempt may take (the SDK tries up to four times, with backoff) before the call is reported unavailable. Default 10 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Parses <c>awskms:key=ID|ARN|alias/NAME[;region=REGION][;endpoint=URL][;timeout=SECONDS]</c>; <c>InvalidRequest</c> naming the problem.</summary>
    public static AwsKmsRootOptions Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var fields = RootSetting.Fields(spec, "awskms:", "An AWS KMS root is written awskms:key=ID|ARN|alias/NAME[;region=REGION][;endpoint=URL][;timeout=SECONDS].", "key", "region", "endpoint", "timeout");
        var timeout = TimeSpan.FromSeconds(10);
        if (fields.TryGetValue("timeout", out var seconds))
        {
            timeout = int.TryParse(seconds, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is > 0 and <= 300
                ? TimeSpan.FromSeconds(n)
                : throw Invalid("timeout is a whole number of seconds from 1 to 300.");
        }

        return fields.TryGetValue("key", out var key) && key.Length > 0
            ? new AwsKmsRootOptions { KeyId = key, Region = fields.GetValueOrDefault("region"), ServiceUrl = fields.GetValueOrDefault("endpoint"), Timeout = timeout }
            : throw Invalid("The AWS KMS root needs key=ID, ARN or alias/NAME.");
    }

    private static RekeyException Invalid(string message) => new(RekeyErrorCode.InvalidRequest, message);
}
