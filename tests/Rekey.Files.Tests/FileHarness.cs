using Rekey.Envelope;
using Rekey.Files;
using Rekey.Keys;
using Rekey.Root;
using Rekey.Storage.Sqlite;

namespace Rekey.Files.Tests;

/// <summary>A real service (SQLite store, key file root) in a temporary folder, and helpers to encrypt and decrypt bytes through the file streams.</summary>
public sealed class FileHarness : IAsyncDisposable
{
    public static readonly KeyName Key = KeyName.Parse("backups/db");
    public static readonly EncryptionContext Context = EncryptionContext.From("db=app");

    private FileHarness(string folder, SqliteKeyStore store, IRootKeyProvider root, RekeyService service)
    {
        Folder = folder;
        Store = store;
        Root = root;
        Service = service;
    }

    public string Folder { get; }

    public SqliteKeyStore Store { get; }

    public IRootKeyProvider Root { get; }

    public RekeyService Service { get; }

    public static async Task<FileHarness> StartAsync()
    {
        var folder = Directory.CreateTempSubdirectory("rekey-files-").FullName;
        var root = LocalRootKeyProvider.CreateKeyFile(Path.Combine(folder, "root.key"));
        var store = await SqliteKeyStore.OpenAsync(Path.Combine(folder, "rekey.db"));
        var service = new RekeyService(store, root);
        await service.CreateKeyAsync(Key);
        return new FileHarness(folder, store, root, service);
    }

    public async Task<byte[]> EncryptAsync(byte[] plaintext, EncryptionContext? context = null)
    {
        using var output = new MemoryStream();
        await using (var encryptor = await RekeyFileStreams.CreateEncryptorAsync(output, Service, Key, context ?? Context, leaveOpen: true))
        {
            // Odd-sized writes, so segment boundaries fall inside them.
            for (var at = 0; at < plaintext.Length; at += 40_000)
            {
                await encryptor.WriteAsync(plaintext.AsMemory(at, Math.Min(40_000, plaintext.Length - at)));
            }
        }

        return output.ToArray();
    }

    /// <summary>Decrypts into a buffer; on failure returns what had been released before it, and the exception.</summary>
    public async Task<(byte[] Released, Exception? Error)> DecryptAsync(byte[] file, EncryptionContext? context = null, int bufferSize = 7_777)
    {
        using var output = new MemoryStream();
        try
        {
            await using var decryptor = await RekeyFileStreams.OpenDecryptorAsync(new MemoryStream(file), Service, context ?? Context);
            await decryptor.CopyToAsync(output, bufferSize);
            return (output.ToArray(), null);
        }
        catch (Exception e)
        {
            return (output.ToArray(), e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync();
        await Store.DisposeAsync();
        await Root.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }
}
