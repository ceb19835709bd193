using System.Text.Json.Serialization.Metadata;

namespace SdDaemon.Varlink;

/// <summary>
/// The empty parameters object <c>{}</c>, for methods that take no parameters or reply with none
/// (<c>method Ping() -&gt; ()</c>): a field in the call is answered with InvalidParameter.
/// </summary>
public sealed class VarlinkEmpty
{
    /// <summary>The one instance.</summary>
    public static VarlinkEmpty Instance { get; } = new();

    /// <summary>Its source-generated type information, for <see cref="VarlinkInterface.AddMethod"/>.</summary>
    public static JsonTypeInfo<VarlinkEmpty> TypeInfo => VarlinkJsonContext.Default.VarlinkEmpty;

    /// <summary>A completed reply with no parameters, for a method's return.</summary>
    public static ValueTask<VarlinkEmpty> Completed => ValueTask.FromResult(Instance);
}
