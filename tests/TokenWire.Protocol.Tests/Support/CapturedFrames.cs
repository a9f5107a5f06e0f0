namespace TokenWire.Protocol.Tests.Support;

/// <summary>The wire frames captured from ably-js 2.28.0 (see Frames/README.md), copied next to the test assembly.</summary>
internal static class CapturedFrames
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "Frames");

    /// <summary>Client→server frames: the same <c>NN-description</c> exists in <c>json/</c> and <c>msgpack/</c>.</summary>
    public static IReadOnlyList<string> ClientFrameNames { get; } = Names("json", ".json");

    /// <summary>Hand-written server→client frames, each in <c>.json</c> and <c>.msgpack</c>.</summary>
    public static IReadOnlyList<string> ServerFrameNames { get; } = Names("server", ".json");

    public static byte[] Client(WireFormat format, string name) => format == WireFormat.Json
        ? File.ReadAllBytes(Path.Combine(Root, "json", name + ".json"))
        : File.ReadAllBytes(Path.Combine(Root, "msgpack", name + ".msgpack"));

    public static byte[] Server(WireFormat format, string name) =>
        File.ReadAllBytes(Path.Combine(Root, "server", name + (format == WireFormat.Json ? ".json" : ".msgpack")));

    public static TheoryData<string> ClientTheoryData() => [.. ClientFrameNames];

    public static TheoryData<string> ServerTheoryData() => [.. ServerFrameNames];

    private static string[] Names(string folder, string extension)
    {
        var names = Directory.GetFiles(Path.Combine(Root, folder), "*" + extension)
            .Select(Path.GetFileNameWithoutExtension)
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToArray();
        return names.Length > 0 ? names : throw new InvalidOperationException($"No captured frames in {Root}/{folder}");
    }
}
