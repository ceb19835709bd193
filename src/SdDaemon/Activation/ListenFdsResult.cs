using System.Collections;

namespace SdDaemon;

/// <summary>
/// The result of <see cref="ListenFds.Get(bool)"/>: not activated (no descriptors), activated (the
/// descriptors in order, fd 3 first), or failed with an errno, like the return value of
/// <see href="https://www.freedesktop.org/software/systemd/man/sd_listen_fds.html">sd_listen_fds_with_names(3)</see>.
/// </summary>
/// <remarks>
/// Disposing the result closes every descriptor that was not taken (<see cref="ListenFd.TakeHandle"/>,
/// <see cref="ListenFd.ToSocket"/>, <see cref="ListenFd.ToStream"/>). Nothing is closed by the
/// garbage collector: without a Dispose the untaken descriptors simply stay open. Ownership is
/// per descriptor number and shared by every result that holds that number (see <see cref="ListenFd"/>):
/// a descriptor taken through one result is closed by no result's Dispose.
/// </remarks>
public sealed class ListenFdsResult : IReadOnlyList<ListenFd>, IDisposable
{
    private readonly ListenFd[] _files;
    private readonly string? _detail;

    internal ListenFdsResult(ListenFd[] files)
    {
        _files = files;
        Outcome = ActivationOutcome.Activated;
    }

    private ListenFdsResult(ActivationOutcome outcome, int errno, string? detail)
    {
        _files = [];
        Outcome = outcome;
        Errno = errno;
        _detail = detail;
    }

    /// <summary>The result of a process that was not socket-activated: no descriptors (also what non-Linux platforms get).</summary>
    public static ListenFdsResult NotActivated { get; } = new(ActivationOutcome.NotActivated, 0, null);

    internal static ListenFdsResult Failure(int errno, string detail) => new(ActivationOutcome.Failed, errno, detail);

    /// <summary>Not activated, activated, or failed.</summary>
    public ActivationOutcome Outcome { get; }

    /// <summary>True when descriptors were passed.</summary>
    public bool IsActivated => Outcome == ActivationOutcome.Activated;

    /// <summary>True when a variable was malformed or a descriptor not open.</summary>
    public bool IsFailed => Outcome == ActivationOutcome.Failed;

    /// <summary>The Linux errno of a failure (22 EINVAL, 34 ERANGE, 9 EBADF); 0 otherwise.</summary>
    public int Errno { get; }

    /// <summary>What was wrong, with the errno's text; null unless failed.</summary>
    public string? ErrorMessage => IsFailed ? Interop.Errno.Describe(_detail, Errno) : null;

    /// <summary>The number of descriptors (sd_listen_fds's positive return value); 0 unless activated.</summary>
    public int Count => _files.Length;

    /// <summary>The descriptor at <paramref name="index"/> (fd <c>3 + index</c>).</summary>
    public ListenFd this[int index] => _files[index];

    /// <summary>Throws <see cref="SdDaemonException"/> when failed; returns this result otherwise.</summary>
    /// <exception cref="SdDaemonException">The result is <see cref="ActivationOutcome.Failed"/>.</exception>
    public ListenFdsResult ThrowIfFailed() =>
        IsFailed ? throw new SdDaemonException($"sd_listen_fds failed: {ErrorMessage}", Errno) : this;

    /// <summary>Every descriptor with this name, in order (several ListenStream= of one socket unit share a name).</summary>
    public IReadOnlyList<ListenFd> WithName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Array.FindAll(_files, f => f.Name == name);
    }

    /// <summary>The first descriptor with this name (for example <c>web</c>, <c>stored</c>,
    /// <c>connection</c>), or null.</summary>
    public ListenFd? First(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Array.Find(_files, f => f.Name == name);
    }

    /// <summary>The names, in order, as LISTEN_FDNAMES gave them.</summary>
    public IReadOnlyList<string> Names => Array.ConvertAll(_files, f => f.Name);

    /// <inheritdoc />
    public IEnumerator<ListenFd> GetEnumerator() => ((IEnumerable<ListenFd>)_files).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Closes every descriptor that was not taken.</summary>
    public void Dispose()
    {
        foreach (ListenFd file in _files)
        {
            file.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => Outcome switch
    {
        ActivationOutcome.NotActivated => "not activated",
        ActivationOutcome.Activated => $"activated: {string.Join(", ", _files.Select(f => f.ToString()))}",
        _ => $"failed: {ErrorMessage}",
    };
}
