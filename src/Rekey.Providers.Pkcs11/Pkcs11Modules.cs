using System.Runtime.InteropServices;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace Rekey.Providers.Pkcs11;

/// <summary>
/// One loaded module per library path in the process, counted: PKCS#11 initialises a module once
/// per process (<c>C_Initialize</c>) and finalising it (<c>C_Finalize</c>) ends every session of
/// every user, so two roots in one token (a rotation, a migration, parallel tests) share it, and
/// the last one to close finalises it.
/// </summary>
internal static class Pkcs11Modules
{
    private static readonly Dictionary<string, (IPkcs11Library Library, int Users)> Loaded = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();

    static Pkcs11Modules()
    {
        // Pkcs11Interop loads modules through dlopen from "libdl"; glibc 2.34 and later ship only
        // libdl.so.2 (dlopen lives in libc), so the name is resolved to the versioned file.
        NativeLibrary.SetDllImportResolver(typeof(Pkcs11InteropFactories).Assembly, (name, assembly, path) =>
            name == "libdl" && OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libdl.so.2", assembly, path, out var handle) ? handle : IntPtr.Zero);
    }

    public static IPkcs11Library Acquire(string path)
    {
        lock (Gate)
        {
            if (Loaded.TryGetValue(path, out var entry))
            {
                Loaded[path] = (entry.Library, entry.Users + 1);
                return entry.Library;
            }

            var factories = new Pkcs11InteropFactories();
            var library = factories.Pkcs11LibraryFactory.LoadPkcs11Library(factories, path, AppType.MultiThreaded);
            Loaded[path] = (library, 1);
            return library;
        }
    }

    public static void Release(string path)
    {
        lock (Gate)
        {
            if (!Loaded.TryGetValue(path, out var entry))
            {
                return;
            }

            if (entry.Users > 1)
            {
                Loaded[path] = (entry.Library, entry.Users - 1);
                return;
            }

            Loaded.Remove(path);
            entry.Library.Dispose();
        }
    }
}
