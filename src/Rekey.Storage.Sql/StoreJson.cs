using System.Text.Json.Serialization;

namespace Rekey.Storage.Sql;

/// <summary>The JSON the engine itself writes into columns: an approval's fields.</summary>
[JsonSerializable(typeof(Dictionary<string, string>), TypeInfoPropertyName = "DictionaryStringString")]
internal sealed partial class StoreJson : JsonSerializerContext;
