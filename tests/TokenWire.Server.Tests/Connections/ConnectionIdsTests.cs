using TokenWire.Server.Connections;

namespace TokenWire.Server.Tests.Connections;

public sealed class ConnectionIdsTests
{
    [Fact]
    public void Connection_ids_are_twelve_alphanumeric_characters_and_unique()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => ConnectionIds.NewConnectionId()).ToList();

        Assert.All(ids, id => Assert.Matches("^[A-Za-z0-9]{12}$", id));
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Connection_key_is_the_id_a_bang_and_a_random_secret_and_is_well_formed()
    {
        var id = ConnectionIds.NewConnectionId();

        var keys = Enumerable.Range(0, 100).Select(_ => ConnectionIds.NewConnectionKey(id)).ToList();

        Assert.All(keys, key => Assert.Matches($"^{id}![A-Za-z0-9]{{20}}$", key));
        Assert.All(keys, key => Assert.True(ConnectionIds.IsWellFormedKey(key), key));
        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("key-conn1")]
    [InlineData("key-fx!abc123")]
    [InlineData("abcdefghijkl")]
    [InlineData("abcdefghijkl!")]
    [InlineData("abcdefghijklABCDEFGHIJKLMNOPQRST")]
    [InlineData("abcdefghijk!ABCDEFGHIJKLMNOPQRST1")]
    [InlineData("abcdefghijklm!ABCDEFGHIJKLMNOPQRS")]
    [InlineData("abcdefghijkl!ABCDEFGHIJKLMNOPQRS")]
    [InlineData("abcdefghijkl!ABCDEFGHIJKLMNOPQRSTU")]
    [InlineData("abcdefghijkl!ABCDEFGHIJKLMNOPQRS-")]
    [InlineData("abcdefghijk-!ABCDEFGHIJKLMNOPQRST")]
    [InlineData("abcdefghijkl!ABCDEFGHIJKLMNOPQRS\u00e9")]
    [InlineData("abcdefghijkl!ABCDEFGHIJ KLMNOPQRS")]
    [InlineData("abcdefghijkl:ABCDEFGHIJKLMNOPQRST")]
    public void Malformed_keys_are_rejected(string? key)
    {
        Assert.False(ConnectionIds.IsWellFormedKey(key));
    }

    [Fact]
    public void Key_with_a_second_bang_in_the_secret_is_rejected()
    {
        Assert.False(ConnectionIds.IsWellFormedKey("abcdefghijkl!ABCDEFGHIJKLMNOPQRS!"));
    }
}
