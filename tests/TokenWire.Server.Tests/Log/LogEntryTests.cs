using TokenWire.Protocol;
using TokenWire.Server.Log;

namespace TokenWire.Server.Tests.Log;

/// <summary><see cref="LogEntry.VersionOf"/> is kept as a plain offset with 0 for "none": it still reads as it was given.</summary>
public sealed class LogEntryTests
{
    [Fact]
    public void VersionOf_reads_back_as_given_through_construction_with_and_deconstruction()
    {
        var message = new Message { Name = "m" };

        Assert.Null(new LogEntry(3, message).VersionOf);
        Assert.False(new LogEntry(3, message).IsVersion);
        var version = new LogEntry(3, message, 1);
        Assert.Equal(1, version.VersionOf);
        Assert.True(version.IsVersion);
        Assert.Equal(long.MaxValue, new LogEntry(3, message, long.MaxValue).VersionOf);

        Assert.Null((version with { VersionOf = null }).VersionOf);
        Assert.Equal(2, (version with { VersionOf = 2 }).VersionOf);
        var (offset, _, versionOf) = version;
        Assert.Equal((3L, 1L), (offset, versionOf));

        Assert.Equal(new LogEntry(3, message, 1), version);
        Assert.NotEqual(new LogEntry(3, message), version);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LogEntry(3, message, 0)); // offsets start at 1
    }
}
