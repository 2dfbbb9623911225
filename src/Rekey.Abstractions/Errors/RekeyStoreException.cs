namespace Rekey.Errors;

/// <summary>
/// A fault in the backing store (I/O, locking, a lost connection, a schema newer than this
/// build). <see cref="IsTransient"/> tells whether retrying the same call may succeed.
/// </summary>
public sealed class RekeyStoreException : Exception
{
    /// <summary>Creates a store fault.</summary>
    public RekeyStoreException(string message, bool isTransient, Exception? innerException = null)
        : base(message, innerException)
    {
        IsTransient = isTransient;
    }

    /// <summary>True when the same operation may succeed if retried (busy database, dropped connection).</summary>
    public bool IsTransient { get; }

    /// <summary>True when the store holds data Rekey never writes (edited outside it): an integrity failure, not an outage.</summary>
    public bool IsIntegrityFailure { get; init; }
}
