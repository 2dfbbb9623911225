namespace Rekey.Envelope;

/// <summary>Source-generated JSON for a pairs context's display form (<see cref="EncryptionContext.Value"/>).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(SortedDictionary<string, string>))]
internal sealed partial class EnvelopeJson : System.Text.Json.Serialization.JsonSerializerContext;
