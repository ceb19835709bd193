using System.Runtime.InteropServices;

namespace SdDaemon.Interop;

/// <summary>
/// A reference held on a <see cref="SafeHandle"/> while its raw descriptor is in use, so that another
/// thread's Dispose cannot close (and the kernel reuse) the number meanwhile: the one place for
/// DangerousAddRef / DangerousRelease. Use with <c>using</c>.
/// </summary>
internal readonly struct HandleReference : IDisposable
{
    private readonly SafeHandle? _handle;

    private HandleReference(SafeHandle handle)
    {
        _handle = handle;
        Fd = (int)handle.DangerousGetHandle();
    }

    /// <summary>The descriptor number; valid until <see cref="Dispose"/>.</summary>
    public int Fd { get; }

    /// <summary>A reference on <paramref name="handle"/>.</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="handle"/> is closed.</exception>
    public static HandleReference Add(SafeHandle handle)
    {
        bool added = false;
        handle.DangerousAddRef(ref added); // throws when closed; true whenever it returns
        return new HandleReference(handle);
    }

    /// <summary>A reference on <paramref name="handle"/>, or false when it is closed.</summary>
    public static bool TryAdd(SafeHandle handle, out HandleReference reference)
    {
        try
        {
            reference = Add(handle);
            return true;
        }
        catch (ObjectDisposedException)
        {
            reference = default;
            return false;
        }
    }

    /// <summary>A reference on each of <paramref name="handles"/> in order, its descriptor written to
    /// <paramref name="fds"/>; stops at the first closed one. Returns how many were taken (release them
    /// with <see cref="ReleaseAll"/>): all of them, or the index of the closed one.</summary>
    public static int AddAll(IReadOnlyList<SafeHandle> handles, Span<int> fds)
    {
        for (int i = 0; i < handles.Count; i++)
        {
            if (!TryAdd(handles[i], out HandleReference reference))
            {
                return i;
            }

            fds[i] = reference.Fd;
        }

        return handles.Count;
    }

    /// <summary>Releases the first <paramref name="count"/> references <see cref="AddAll"/> took.</summary>
    public static void ReleaseAll(IReadOnlyList<SafeHandle> handles, int count)
    {
        for (int i = 0; i < count; i++)
        {
            handles[i].DangerousRelease();
        }
    }

    /// <summary>Releases the reference (nothing for <c>default</c>).</summary>
    public void Dispose() => _handle?.DangerousRelease();
}
