using System.Security.Cryptography;

namespace Rekey.Files;

/// <summary>
/// Seals and opens a run of consecutive segments, on up to four cores at once: each worker has its
/// own AES-GCM instance (one is not safe to share) and takes every n-th segment of the run.
/// </summary>
internal sealed class SegmentCipher : IDisposable
{
    /// <summary>Segments handled per run: 1 MiB of plaintext, so two cores each get eight.</summary>
    public const int Batch = 16;

    private readonly AesGcm[] _workers;

    public SegmentCipher(ReadOnlySpan<byte> segmentKey)
    {
        _workers = new AesGcm[Math.Clamp(Environment.ProcessorCount, 1, 4)];
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new AesGcm(segmentKey, FileLayout.TagSize);
        }
    }

    /// <summary>
    /// Seals <paramref name="plainLength"/> bytes of <paramref name="plain"/> as segments numbered from
    /// <paramref name="firstIndex"/>, the last of them flagged when <paramref name="endsFile"/>; writes
    /// them to <paramref name="sealedOut"/> and returns their total length.
    /// </summary>
    public int Seal(byte[] plain, int plainLength, byte[] sealedOut, long firstIndex, bool endsFile)
    {
        var count = Math.Max(1, (plainLength + FileLayout.SegmentSize - 1) / FileLayout.SegmentSize);
        Run(count, (i, aes) =>
        {
            var start = i * FileLayout.SegmentSize;
            var length = Math.Min(FileLayout.SegmentSize, plainLength - start);
            Span<byte> nonce = stackalloc byte[12];
            FileLayout.Nonce(nonce, firstIndex + i, endsFile && i == count - 1);
            var output = sealedOut.AsSpan(i * FileLayout.SealedSegmentSize, length + FileLayout.TagSize);
            aes.Encrypt(nonce, plain.AsSpan(start, length), output[..length], output[length..]);
            return true;
        });
        return ((count - 1) * FileLayout.SealedSegmentSize) + (plainLength - ((count - 1) * FileLayout.SegmentSize)) + FileLayout.TagSize;
    }

    /// <summary>
    /// Opens the <paramref name="sealedLength"/> bytes of <paramref name="sealedIn"/> as segments numbered
    /// from <paramref name="firstIndex"/> (the last flagged when <paramref name="endsFile"/>) into
    /// <paramref name="plainOut"/>. Returns how many segments, from the first, opened before the first
    /// that did not (all of them when none failed), and the plaintext length they make up; the bytes
    /// of the failed segment and every one after it are zeroed.
    /// </summary>
    public (int Opened, int PlainLength, bool Failed) Open(byte[] sealedIn, int sealedLength, byte[] plainOut, long firstIndex, bool endsFile)
    {
        var count = (sealedLength + FileLayout.SealedSegmentSize - 1) / FileLayout.SealedSegmentSize;
        var failed = Run(count, (i, aes) =>
        {
            var start = i * FileLayout.SealedSegmentSize;
            var length = Math.Min(FileLayout.SealedSegmentSize, sealedLength - start) - FileLayout.TagSize;
            Span<byte> nonce = stackalloc byte[12];
            FileLayout.Nonce(nonce, firstIndex + i, endsFile && i == count - 1);
            try
            {
                aes.Decrypt(nonce, sealedIn.AsSpan(start, length), sealedIn.AsSpan(start + length, FileLayout.TagSize), plainOut.AsSpan(i * FileLayout.SegmentSize, length));
                return true;
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }
        });
        var opened = failed ?? count;
        var plainLength = opened == count ? sealedLength - (count * FileLayout.TagSize) : opened * FileLayout.SegmentSize;
        if (failed is not null)
        {
            CryptographicOperations.ZeroMemory(plainOut.AsSpan(plainLength));
        }

        return (opened, plainLength, failed is not null);
    }

    public void Dispose()
    {
        foreach (var worker in _workers)
        {
            worker.Dispose();
        }
    }

    // Runs `body` for segments 0..count-1, spread over the workers; returns the lowest segment for
    // which it returned false, or null.
    private int? Run(int count, Func<int, AesGcm, bool> body)
    {
        var lowestFailure = int.MaxValue;
        if (count == 1 || _workers.Length == 1)
        {
            for (var i = 0; i < count; i++)
            {
                if (!body(i, _workers[0]))
                {
                    lowestFailure = Math.Min(lowestFailure, i);
                }
            }
        }
        else
        {
            var workers = Math.Min(_workers.Length, count);
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
            {
                for (var i = w; i < count; i += workers)
                {
                    if (!body(i, _workers[w]))
                    {
                        InterlockedMin(ref lowestFailure, i);
                    }
                }
            });
        }

        return lowestFailure == int.MaxValue ? null : lowestFailure;
    }

    private static void InterlockedMin(ref int target, int value)
    {
        int current;
        while (value < (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
