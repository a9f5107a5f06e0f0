namespace TokenWire.Protocol;

/// <summary>One entry of a REST batch publish (<c>POST /messages</c>, spec BSP): the same messages to each channel.</summary>
public sealed record BatchPublishSpec(IReadOnlyList<string> Channels, IReadOnlyList<Message> Messages);
