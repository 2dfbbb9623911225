using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Rekey.Api;
using Rekey.Envelope;
using Rekey.Errors;
using Rekey.Keys;
using Rekey.Server.Endpoints;
using Rekey.Server.Hosting;
using Rekey.Storage.Postgres;

namespace Rekey.Fuzz;

/// <summary>
/// The fuzz targets: code that reads what an attacker sends. Each catches only the exceptions
/// its contract allows for bad input; anything else escapes and is a crash to the fuzzer.
/// </summary>
/// <remarks>
/// Nothing from the instrumented assemblies may run before the fuzzer has set up its coverage
/// map, so targets are picked by name and every Rekey type is first touched inside a target.
/// </remarks>
internal static class FuzzTargets
{
    /// <summary>The target names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["envelope", "envelope-text", "json", "connection"];

    /// <summary>The target with this name, or null.</summary>
    public static Action<byte[]>? Find(string name) => name switch
    {
        "envelope" => Envelope,
        "envelope-text" => EnvelopeTextForm,
        "json" => Json,
        "connection" => Connection,
        _ => null,
    };

    private static JsonTypeInfo[] Requests() =>
    [
        ApiJsonContext.Default.EncryptRequest,
        ApiJsonContext.Default.DecryptRequest,
        ApiJsonContext.Default.RewrapRequest,
        ApiJsonContext.Default.DataKeyRequest,
        ApiJsonContext.Default.KeyCreateRequest,
        ApiJsonContext.Default.KeyUpdateRequest,
        ApiJsonContext.Default.RotateRequest,
        ApiJsonContext.Default.VersionChangeRequest,
        ApiJsonContext.Default.TokenCreateRequest,
        ApiJsonContext.Default.RewrapJobRequest,
        ApiJsonContext.Default.DataSourceRequest,
    ];

    // Binary envelopes: the header reader, the key check of the hot paths, and the text form of what parsed.
    private static void Envelope(byte[] input)
    {
        try
        {
            EnvelopeReader.IsUnder(input, KeyName.Parse("tenants/h42/patients"), out _);
            var header = EnvelopeReader.ReadHeader(input);
            _ = EnvelopeText.Encode(input);
            _ = header.Key.Value.Length + header.Version;
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.DecryptionFailed)
        {
        }
    }

    // Text envelopes, as strings and as the UTF-8 bytes of a column.
    private static void EnvelopeTextForm(byte[] input)
    {
        try
        {
            var bytes = EnvelopeText.Decode(Encoding.UTF8.GetString(input));
            EnvelopeReader.ReadHeader(bytes);
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.DecryptionFailed)
        {
        }

        try
        {
            var buffer = new byte[EnvelopeText.GetMaxDecodedLength(input.Length)];
            EnvelopeText.DecodeFromUtf8(input, buffer);
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.DecryptionFailed)
        {
        }
    }

    // The JSON request readers: the first byte picks the request type, as the routes do. The
    // server turns JsonException into 400; anything else would be a 500.
    private static void Json(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }

        var requests = Requests();
        var type = requests[input[0] % requests.Length];
        object? request;
        try
        {
            request = JsonSerializer.Deserialize(input.AsSpan(1), type);
        }
        catch (JsonException)
        {
            return;
        }

        try
        {
            switch (request)
            {
                case DataSourceRequest source:
                    RewrapMapping.ToRegistration(source);
                    break;
                case RewrapJobRequest job:
                    RewrapMapping.ToDefinition(KeyName.Parse("tenants/h42/patients"), job);
                    break;
            }
        }
        catch (RekeyException e) when (e.Code == RekeyErrorCode.InvalidRequest)
        {
        }
    }

    // Connection strings as an operator or a registration gives them: PostgreSQL detection and
    // normalisation (ArgumentException names the bad part), and server options validation, which
    // must report problems, never throw.
    private static void Connection(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        if (PostgresConnectionString.IsPostgres(text))
        {
            try
            {
                PostgresConnectionString.Redact(PostgresConnectionString.Normalize(text));
            }
            catch (ArgumentException)
            {
            }
        }

        new RekeyServerOptions { Store = text, RootKeyFile = "/nonexistent/root.key" }.Validate();
    }
}
