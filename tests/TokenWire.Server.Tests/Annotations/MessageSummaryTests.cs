using System.Text.Json;
using TokenWire.Protocol;
using TokenWire.Server.Annotations;

namespace TokenWire.Server.Tests.Annotations;

/// <summary>
/// Each summary type's aggregation (Ably's total.v1, flag.v1, distinct.v1, unique.v1, multiple.v1): creates, deletes,
/// a client repeating itself, counts, clipping of client id lists, and the saved form round-tripping.
/// </summary>
public sealed class MessageSummaryTests
{
    private static Annotation Create(string type, string? name = null, string? clientId = null, int? count = null) =>
        new() { Action = AnnotationActions.Create, MessageSerial = "s", Type = type, Name = name, ClientId = clientId, Count = count };

    private static Annotation Delete(string type, string? name = null, string? clientId = null) =>
        new() { Action = AnnotationActions.Delete, MessageSerial = "s", Type = type, Name = name, ClientId = clientId };

    /// <summary>Applies the annotations, checks the saved form reloads to the same summary, returns it as compact JSON.</summary>
    private static string Summarise(int maxClientIds, params Annotation[] annotations)
    {
        var summary = new MessageSummary();
        foreach (var annotation in annotations)
        {
            summary.Apply(annotation);
        }

        var rendered = summary.Render(maxClientIds).ToString();
        Assert.Equal(rendered, MessageSummary.Load(summary.Save()).Render(maxClientIds).ToString());
        using var document = JsonDocument.Parse(rendered);
        return document.RootElement.GetProperty("summary").GetRawText();
    }

    private static string Summarise(params Annotation[] annotations) => Summarise(100, annotations);

    [Fact]
    public void Total_counts_creates_and_deletes_never_below_zero_whoever_publishes()
    {
        Assert.Equal("""{"t:total.v1":{"total":3}}""", Summarise(Create("t:total.v1"), Create("t:total.v1", clientId: "a"), Create("t:total.v1", clientId: "a")));
        Assert.Equal("""{"t:total.v1":{"total":1}}""", Summarise(Create("t:total.v1"), Create("t:total.v1"), Delete("t:total.v1")));
        Assert.Equal("""{"t:total.v1":{"total":0}}""", Summarise(Create("t:total.v1"), Delete("t:total.v1"), Delete("t:total.v1")));
    }

    [Fact]
    public void Flag_counts_each_client_once_and_a_delete_removes_it()
    {
        Assert.Equal(
            """{"f:flag.v1":{"total":2,"clientIds":["a","b"],"clipped":false}}""",
            Summarise(Create("f:flag.v1", clientId: "a"), Create("f:flag.v1", clientId: "b"), Create("f:flag.v1", clientId: "a")));
        Assert.Equal(
            """{"f:flag.v1":{"total":1,"clientIds":["b"],"clipped":false}}""",
            Summarise(Create("f:flag.v1", clientId: "a"), Create("f:flag.v1", clientId: "b"), Delete("f:flag.v1", clientId: "a")));
    }

    [Fact]
    public void Distinct_counts_each_client_once_per_name_and_drops_a_name_nobody_uses()
    {
        Assert.Equal(
            """{"r:distinct.v1":{"up":{"total":2,"clientIds":["a","b"],"clipped":false},"down":{"total":1,"clientIds":["a"],"clipped":false}}}""",
            Summarise(Create("r:distinct.v1", "up", "a"), Create("r:distinct.v1", "down", "a"), Create("r:distinct.v1", "up", "b"), Create("r:distinct.v1", "up", "a")));
        Assert.Equal(
            """{"r:distinct.v1":{"up":{"total":1,"clientIds":["b"],"clipped":false}}}""",
            Summarise(Create("r:distinct.v1", "up", "a"), Create("r:distinct.v1", "down", "a"), Create("r:distinct.v1", "up", "b"), Delete("r:distinct.v1", "up", "a"), Delete("r:distinct.v1", "down", "a")));
    }

    [Fact]
    public void Unique_moves_a_client_to_its_latest_name()
    {
        Assert.Equal(
            """{"v:unique.v1":{"yes":{"total":1,"clientIds":["b"],"clipped":false},"no":{"total":1,"clientIds":["a"],"clipped":false}}}""",
            Summarise(Create("v:unique.v1", "yes", "a"), Create("v:unique.v1", "yes", "b"), Create("v:unique.v1", "no", "a"), Create("v:unique.v1", "no", "a")));
        Assert.Equal(
            """{"v:unique.v1":{"yes":{"total":1,"clientIds":["b"],"clipped":false}}}""",
            Summarise(Create("v:unique.v1", "yes", "a"), Create("v:unique.v1", "yes", "b"), Delete("v:unique.v1", "yes", "a")));
    }

    [Fact]
    public void Multiple_sums_counts_per_client_and_unidentified_and_a_delete_removes_a_clients_whole_contribution()
    {
        Assert.Equal(
            """{"m:multiple.v1":{"gold":{"total":8,"clientIds":{"a":4,"b":1},"totalUnidentified":3,"clipped":false,"totalClientIds":2}}}""",
            Summarise(Create("m:multiple.v1", "gold", "a", 3), Create("m:multiple.v1", "gold", "b"), Create("m:multiple.v1", "gold", "a"), Create("m:multiple.v1", "gold", count: 3)));
        Assert.Equal(
            """{"m:multiple.v1":{"gold":{"total":1,"clientIds":{"b":1},"totalUnidentified":0,"clipped":false,"totalClientIds":1}}}""",
            Summarise(Create("m:multiple.v1", "gold", "a", 3), Create("m:multiple.v1", "gold", "b"), Delete("m:multiple.v1", "gold", "a")));
    }

    [Fact]
    public void Client_id_lists_are_clipped_to_the_limit_while_totals_stay_exact()
    {
        Assert.Equal(
            """{"f:flag.v1":{"total":3,"clientIds":["a","b"],"clipped":true}}""",
            Summarise(2, Create("f:flag.v1", clientId: "a"), Create("f:flag.v1", clientId: "b"), Create("f:flag.v1", clientId: "c")));
        Assert.Equal(
            """{"r:distinct.v1":{"up":{"total":3,"clientIds":["a"],"clipped":true}}}""",
            Summarise(1, Create("r:distinct.v1", "up", "a"), Create("r:distinct.v1", "up", "b"), Create("r:distinct.v1", "up", "c")));
        Assert.Equal(
            """{"m:multiple.v1":{"x":{"total":3,"clientIds":{"a":1},"totalUnidentified":0,"clipped":true,"totalClientIds":3}}}""",
            Summarise(1, Create("m:multiple.v1", "x", "a"), Create("m:multiple.v1", "x", "b"), Create("m:multiple.v1", "x", "c")));

        // A delete after clipping is exact: the saved form keeps every client.
        Assert.Equal(
            """{"f:flag.v1":{"total":2,"clientIds":["a","b"],"clipped":false}}""",
            Summarise(2, Create("f:flag.v1", clientId: "a"), Create("f:flag.v1", clientId: "b"), Create("f:flag.v1", clientId: "c"), Delete("f:flag.v1", clientId: "c")));
    }

    [Fact]
    public void Types_are_summarised_independently_in_the_order_they_first_appeared()
    {
        Assert.Equal(
            """{"b:total.v1":{"total":1},"a:flag.v1":{"total":1,"clientIds":["x"],"clipped":false},"c:total.v1":{"total":1}}""",
            Summarise(Create("b:total.v1"), Create("a:flag.v1", clientId: "x"), Create("c:total.v1")));
    }
}
