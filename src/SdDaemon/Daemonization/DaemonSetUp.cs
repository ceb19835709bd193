using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;
using SdDaemon.Interop;

namespace SdDaemon.Daemonization;

/// <summary>
/// The daemon's own set-up (daemon(7) steps 1 and 9-13): the kept descriptors, umask, the pid
/// file, output, chroot and working directory, dropped privileges. A failure is reported to the
/// original process (<see cref="StageFailure"/>), which prints it, and the daemon exits.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class DaemonSetUp
{
    public static DaemonContext Run(DaemonOptions options, StageMarker marker)
    {
        // Failures before READY=1 reach the original process as notifications.
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
            _ = StageFailure.TrySend(StageFailure.Describe(Errno.EIO, "unhandled exception: " + (e.ExceptionObject as Exception)?.GetType().Name + ": " + (e.ExceptionObject as Exception)?.Message));
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            _ = StageFailure.TrySend(new Notification(NotifyState.ExitStatus(System.Environment.ExitCode & 0xff)));

        var kept = new List<SafeFileHandle>();
        foreach (int fd in marker.KeptFds)
        {
            _ = Libc.Fcntl(fd, Libc.F_SETFD, Libc.FD_CLOEXEC); // every fd the library hands out is CLOEXEC
            kept.Add(new SafeFileHandle(fd, ownsHandle: true));
        }

        _ = Libc.Umask((uint)options.Umask);
        Privileges? privileges;
        try
        {
            privileges = Privileges.Resolve(options.User, options.Group);
        }
        catch (ArgumentException e)
        {
            throw StageFailure.Exit(Errno.EINVAL, e.Message);
        }

        PidFile? pidFile = null;
        if (options.PidFile is { } path)
        {
            try
            {
                pidFile = PidFile.Acquire(path, System.Environment.ProcessId);
            }
            catch (DaemonAlreadyRunningException e)
            {
                throw StageFailure.Exit(Errno.EAGAIN, e.Message);
            }
            catch (IOException e)
            {
                throw StageFailure.Exit(e.HResult, e.Message); // an errno, or EIO
            }

            // From now on every exit removes it, also a failure below (StageFailure.Exit exits before the context exists).
            AppDomain.CurrentDomain.ProcessExit += (_, _) => pidFile.Dispose();
        }

        var context = new DaemonContext(kept, RedirectOutput(options.Output), pidFile);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => context.Dispose();
        unsafe
        {
            if (options.RootDirectory is { } root)
            {
                PreloadAssemblies();
                // No descriptor of a directory outside the new root may survive the chroot.
                pidFile?.LeaveDirectoryForRoot(root);
                fixed (byte* r = Libc.Utf8Z(root))
                {
                    if (Libc.Chroot(r) != 0)
                    {
                        throw StageFailure.Exit(Libc.LastErrno, $"chroot('{root}') failed");
                    }
                }
            }

            fixed (byte* d = Libc.Utf8Z(options.WorkingDirectory))
            {
                if (Libc.Chdir(d) != 0)
                {
                    throw StageFailure.Exit(Libc.LastErrno, $"chdir('{options.WorkingDirectory}') failed");
                }
            }
        }

        try
        {
            privileges?.Drop();
        }
        catch (UnauthorizedAccessException e)
        {
            throw StageFailure.Exit(Errno.EPERM, e.Message);
        }

        return context;
    }

    /// <summary>
    /// Under the JIT, assemblies load lazily from the runtime's directory, which a chroot makes
    /// unreachable: load everything the loaded assemblies reference, transitively, while it still
    /// is. (NativeAOT has nothing to load.) Files the program opens later must be inside the root.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode",
        Justification = "Preloading only: a reference the trimmer removed is not needed at run time either, and NativeAOT loads nothing.")]
    private static void PreloadAssemblies()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<System.Reflection.Assembly>(AppDomain.CurrentDomain.GetAssemblies());
        while (pending.TryDequeue(out System.Reflection.Assembly? assembly))
        {
            if (assembly.IsDynamic || !seen.Add(assembly.FullName ?? ""))
            {
                continue;
            }

            foreach (System.Reflection.AssemblyName name in assembly.GetReferencedAssemblies())
            {
                if (seen.Contains(name.FullName))
                {
                    continue;
                }

                try
                {
                    pending.Enqueue(System.Reflection.Assembly.Load(name));
                }
                catch (Exception e) when (e is IOException or BadImageFormatException)
                {
                    // Not present (an optional dependency): nothing to preload.
                }
            }
        }
    }

    private static unsafe Stream? RedirectOutput(DaemonOutput output)
    {
        if (output.Kind == DaemonOutputKind.Null)
        {
            return null; // the spawn already put /dev/null on 0, 1 and 2
        }

        Console.Out.Flush();
        Console.Error.Flush();
        int target;
        Stream? captured = null;
        if (output.Kind == DaemonOutputKind.AppendToFile)
        {
            fixed (byte* p = Libc.Utf8Z(output.Path!))
            {
                target = Libc.Open(p, Libc.O_WRONLY | Libc.O_APPEND | Libc.O_CREAT | Libc.O_NOCTTY | Libc.O_CLOEXEC, (uint)output.Mode);
            }

            if (target < 0)
            {
                throw StageFailure.Exit(Libc.LastErrno, $"cannot open log file '{output.Path}'");
            }
        }
        else
        {
            int* pipe = stackalloc int[2];
            if (Libc.Pipe2(pipe, Libc.O_CLOEXEC) != 0)
            {
                throw StageFailure.Exit(Libc.LastErrno, "cannot create the capture pipe");
            }

            target = pipe[1];
            captured = new FileStream(new SafeFileHandle(pipe[0], ownsHandle: true), FileAccess.Read, 1);
        }

        if (Libc.Dup2(target, 1) < 0 || Libc.Dup2(target, 2) < 0)
        {
            throw StageFailure.Exit(Libc.LastErrno, "cannot redirect stdout and stderr");
        }

        Libc.CloseQuietly(target);
        // Console's streams hold dups of the old fds 1 and 2 (/dev/null): make new ones on the new targets.
        Console.SetOut(new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true });
        Console.SetError(new StreamWriter(Console.OpenStandardError()) { AutoFlush = true });
        return captured;
    }
}
