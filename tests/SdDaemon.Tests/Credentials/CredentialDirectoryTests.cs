using System.Runtime.InteropServices;
using System.Text;
using SdDaemon.Tests.Support;
using Xunit;

namespace SdDaemon.Tests.Credentials;

/// <summary>The credential reader: bounded, regular files only, links kept inside, errors that name
/// the file and never its content (spec C-1..C-4).</summary>
public sealed partial class CredentialDirectoryTests : IDisposable
{
    private const string Secret = "s3cr3t-value-never-in-messages";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sdd-creds-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Write(string name, string content)
    {
        string path = Path.Join(_dir.FullName, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void C1_no_CREDENTIALS_DIRECTORY_means_no_credentials_not_an_error()
    {
        Assert.Null(CredentialDirectory.FromEnvironment(new FakeEnvironment(), CredentialDirectory.DefaultMaxSize));
    }

    [Theory]
    [InlineData("missing", "cannot be used (errno 2: No such file or directory)")]
    [InlineData("file", "is not a directory")]
    [InlineData("relative", "is not an absolute path")]
    public void C1_a_CREDENTIALS_DIRECTORY_that_is_no_directory_is_a_clear_error(string kind, string expected)
    {
        string path = kind switch
        {
            "missing" => Path.Join(_dir.FullName, "nope"),
            "file" => Write("plain", Secret),
            _ => "relative/creds",
        };
        var environment = new FakeEnvironment((EnvironmentVariables.CredentialsDirectory, path));

        CredentialException e = Assert.Throws<CredentialException>(() => CredentialDirectory.FromEnvironment(environment, 100));

        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Null(e.CredentialName);
        Assert.DoesNotContain(Secret, e.Message);
    }

    [Fact]
    public void Binary_credentials_are_read_byte_for_byte_and_names_are_listed_sorted()
    {
        byte[] key = [0x00, 0xff, 0xfe, 0x80, 0x0a, 0x00];
        File.WriteAllBytes(Path.Join(_dir.FullName, "tls.key"), key);
        Write("a.password", "pw\n");
        Directory.CreateDirectory(Path.Join(_dir.FullName, "subdir"));
        var credentials = new CredentialDirectory(_dir.FullName);

        Assert.True(credentials.TryRead("tls.key", out byte[] read));
        Assert.Equal(key, read);
        Assert.False(credentials.TryRead("absent", out _));
        Assert.True(credentials.TryReadText("a.password", out string text));
        Assert.Equal("pw\n", text); // the direct API keeps the bytes as they are
        Assert.Equal(["a.password", "tls.key"], credentials.GetNames());
        Assert.Throws<ArgumentException>(() => credentials.TryRead("../etc/passwd", out _));
        Assert.Equal(2 /* ENOENT */, Assert.Throws<CredentialException>(() => credentials.Read("absent")).Errno);
    }

    [Fact]
    public void C3_a_credential_larger_than_the_bound_is_refused_naming_the_file()
    {
        Write("exact", new string('x', 64));
        Write("big", Secret + new string('x', 64 - Secret.Length + 1));
        var credentials = new CredentialDirectory(_dir.FullName, maxSize: 64);

        Assert.True(credentials.TryRead("exact", out byte[] exact));
        Assert.Equal(64, exact.Length);
        CredentialException e = Assert.Throws<CredentialException>(() => credentials.TryRead("big", out _));
        Assert.Equal("big", e.CredentialName);
        Assert.Equal(27 /* EFBIG */, e.Errno);
        Assert.Contains("larger than 64 bytes", e.Message);
        Assert.DoesNotContain(Secret, e.Message);
    }

    [Fact]
    public void C2_a_symbolic_link_that_leaves_the_directory_is_refused_one_inside_is_followed()
    {
        using var outside = new TempFile(Secret);
        File.CreateSymbolicLink(Path.Join(_dir.FullName, "escape"), outside.Path);
        File.CreateSymbolicLink(Path.Join(_dir.FullName, "dotdot"), "../" + Path.GetFileName(outside.Path) + "/../" + Path.GetFileName(outside.Path));
        Write("real", "inside");
        File.CreateSymbolicLink(Path.Join(_dir.FullName, "alias"), "real");
        var credentials = new CredentialDirectory(_dir.FullName);

        Assert.True(credentials.TryReadText("alias", out string value));
        Assert.Equal("inside", value);
        foreach (string name in new[] { "escape", "dotdot" })
        {
            CredentialException e = Assert.Throws<CredentialException>(() => credentials.TryRead(name, out _));
            Assert.Equal(name, e.CredentialName);
            Assert.Contains("leaves the credentials directory", e.Message);
            Assert.DoesNotContain(Secret, e.Message);
        }
    }

    [Fact]
    public void C2_a_FIFO_is_refused_without_blocking()
    {
        string fifo = Path.Join(_dir.FullName, "fifo");
        Assert.Equal(0, SdDaemon.Tests.Activation.TestLibc.MkFifo(fifo, 0x180));
        var credentials = new CredentialDirectory(_dir.FullName);

        Task<CredentialException> read = Task.Run(() => Assert.Throws<CredentialException>(() => credentials.TryRead("fifo", out _)));

        Assert.True(read.Wait(TimeSpan.FromSeconds(5)), "reading a FIFO credential blocked");
        Assert.Contains("not a regular file", read.Result.Message);
    }

    [Fact]
    public void C2_an_unreadable_credential_is_a_clear_error_with_EACCES()
    {
        string path = Write("locked", Secret);
        File.SetUnixFileMode(path, UnixFileMode.None);
        File.SetUnixFileMode(_dir.FullName, (UnixFileMode)0x1ed); // 0755: others may enter
        var credentials = new CredentialDirectory(_dir.FullName);

        // As root, mode 000 is readable: read as nobody (setfsuid is per thread).
        CredentialException? e = RunAsNobody(() => Assert.Throws<CredentialException>(() => credentials.TryRead("locked", out _)));

        Assert.NotNull(e);
        Assert.Equal("locked", e.CredentialName);
        Assert.Equal(13 /* EACCES */, e.Errno);
        Assert.Contains("Permission denied", e.Message);
        Assert.DoesNotContain(Secret, e.Message);
    }

    [Fact]
    public void C4_text_that_is_not_UTF8_is_an_error_that_names_the_file_not_its_bytes()
    {
        File.WriteAllBytes(Path.Join(_dir.FullName, "bin"), [.. Encoding.ASCII.GetBytes(Secret), 0xff, 0xfe]);
        var credentials = new CredentialDirectory(_dir.FullName);

        CredentialException e = Assert.Throws<CredentialException>(() => credentials.TryReadText("bin", out _));

        Assert.Equal("bin", e.CredentialName);
        Assert.Contains("not UTF-8", e.Message);
        Assert.DoesNotContain(Secret, e.Message);
    }

    private static T? RunAsNobody<T>(Func<T> action)
    {
        T? result = default;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            int previous = SetFsUid(65534);
            try
            {
                result = action();
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                _ = SetFsUid(previous);
            }
        });
        thread.Start();
        thread.Join();
        return failure is null ? result : throw new InvalidOperationException("the read as nobody failed", failure);
    }

    // Test-only: the library has no use for it.
    [LibraryImport("libc", EntryPoint = "setfsuid")]
    private static partial int SetFsUid(int uid);

    private sealed class TempFile : IDisposable
    {
        public TempFile(string content)
        {
            Path = System.IO.Path.GetTempFileName();
            File.WriteAllText(Path, content);
        }

        public string Path { get; }

        public void Dispose() => File.Delete(Path);
    }
}
