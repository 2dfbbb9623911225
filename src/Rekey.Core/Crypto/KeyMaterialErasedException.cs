namespace Rekey.Crypto;

/// <summary>A KEK was used after its version's material was destroyed (a destruction raced the use).</summary>
internal sealed class KeyMaterialErasedException : Exception
{
    public KeyMaterialErasedException()
        : base("The version's key material has been destroyed.")
    {
    }
}
