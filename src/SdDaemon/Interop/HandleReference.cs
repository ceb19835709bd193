using System.Runtime.InteropServices;

namespace SdDaemon.Interop;

/// <summary>
/// A reference held on a <see cref="SafeHandle"/> while its raw descriptor is in use (with
/// <c>using</c>), so that another thread's Dispose cannot close it, and the kernel reuse the number,
/// meanwhile: the one place for DangerousAddRef / DangerousRelease. Made by Add, TryAdd and AddAll only.
/// </summary>
internal readonly struct HandleReference(SafeHandle handle) : IDisposable
{
    /// <summary>The descriptor number; valid until <see cref="Dispose"/>.</summary>
    public int Fd { get; } = (int)handle.DangerousGetHandle();

    /// <summary>A reference on <paramref name="handle"/>.</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="handle"/> is closed.</exception>
    public static HandleReference Add(SafeHandle handle)
    {
        bool added = false;
        handle.DangerousAddRef(ref added); // throws when closed, else always adds
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

    /// <summary>References on <paramref name="handles"/> in order, their numbers into <paramref name="fds"/>,
    /// up to the first closed one: how many were taken (release them with <see cref="ReleaseAll"/>).</summary>
    public static int AddAll(IReadOnlyList<SafeHandle> handles, Span<int> fds)
    {
        int taken = 0;
        while (taken < handles.Count && TryAdd(handles[taken], out HandleReference reference))
        {
            fds[taken++] = reference.Fd;
        }

        return taken;
    }

    /// <summary>Releases the first <paramref name="count"/> references <see cref="AddAll"/> took.</summary>
    public static void ReleaseAll(IReadOnlyList<SafeHandle> handles, int count)
    {
        for (int i = 0; i < count; i++)
        {
            handles[i].DangerousRelease();
        }
    }

    public void Dispose() => handle?.DangerousRelease();
}
