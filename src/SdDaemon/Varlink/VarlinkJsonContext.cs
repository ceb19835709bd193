using System.Text.Json.Serialization;

namespace SdDaemon.Varlink;

/// <summary>The parameters and replies of the interfaces the library serves itself.</summary>
[JsonSourceGenerationOptions(UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(VarlinkEmpty))]
[JsonSerializable(typeof(GetInfoReply))]
[JsonSerializable(typeof(GetInterfaceDescriptionParameters))]
[JsonSerializable(typeof(GetInterfaceDescriptionReply))]
internal sealed partial class VarlinkJsonContext : JsonSerializerContext;

internal sealed record GetInfoReply(
    [property: JsonPropertyName("vendor")] string Vendor,
    [property: JsonPropertyName("product")] string Product,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("interfaces")] IReadOnlyList<string> Interfaces);

internal sealed class GetInterfaceDescriptionParameters
{
    [JsonPropertyName("interface")]
    public required string Interface { get; init; }
}

internal sealed record GetInterfaceDescriptionReply([property: JsonPropertyName("description")] string Description);
