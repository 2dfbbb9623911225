namespace Rekey.Crypto;

/// <summary>Which implementation of AES key wrap an <see cref="AesKeyWrapPadded"/> runs.</summary>
internal enum KeyWrapPath
{
    /// <summary>AES-NI when the processor has it and the framework switch is not set; else the framework.</summary>
    Automatic,

    /// <summary>Rekey's own RFC 5649 over AES-NI block operations (x64 with AES-NI only).</summary>
    Hardware,

    /// <summary>The framework's <c>Aes.EncryptKeyWrapPadded</c> and <c>DecryptKeyWrapPadded</c> (every platform).</summary>
    Framework,
}
