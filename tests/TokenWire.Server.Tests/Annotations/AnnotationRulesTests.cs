using TokenWire.Protocol;
using TokenWire.Server.Annotations;

namespace TokenWire.Server.Tests.Annotations;

/// <summary>What an annotation must be: a known <c>namespace:method.v1</c> type, a name and client where its method needs them.</summary>
public sealed class AnnotationRulesTests
{
    [Theory]
    [InlineData("reaction:total.v1", SummaryMethod.Total)]
    [InlineData("reaction:flag.v1", SummaryMethod.Flag)]
    [InlineData("reaction:distinct.v1", SummaryMethod.Distinct)]
    [InlineData("reaction:unique.v1", SummaryMethod.Unique)]
    [InlineData("a:b:multiple.v1", SummaryMethod.Multiple)]
    public void Known_methods_are_recognised(string type, SummaryMethod method) => Assert.Equal(method, AnnotationRules.MethodOf(type));

    [Theory]
    [InlineData(null)]
    [InlineData("reaction")]
    [InlineData(":distinct.v1")]
    [InlineData("reaction:distinct.v2")]
    [InlineData("reaction:bogus.v1")]
    public void Anything_else_is_40003(string? type) =>
        Assert.Equal(ErrorCodes.InvalidParameterValue, Assert.Throws<ProtocolException>(() => AnnotationRules.MethodOf(type)).Error.Code);

    [Fact]
    public void Missing_message_serial_name_or_client_and_bad_counts_are_40003()
    {
        static int Code(Annotation a) => Assert.Throws<ProtocolException>(() => AnnotationRules.Validate(a)).Error.Code;
        Assert.Equal(40003, Code(new Annotation { Type = "r:total.v1" }));
        Assert.Equal(40003, Code(new Annotation { MessageSerial = "s", Type = "r:distinct.v1", ClientId = "a" }));
        Assert.Equal(40003, Code(new Annotation { MessageSerial = "s", Type = "r:flag.v1" }));
        Assert.Equal(40003, Code(new Annotation { MessageSerial = "s", Type = "r:multiple.v1", Name = "x", Count = 0 }));
        Assert.Equal(40003, Code(new Annotation { MessageSerial = "s", Type = "r:total.v1", Action = 7 }));
        Assert.Equal(SummaryMethod.Total, AnnotationRules.Validate(new Annotation { MessageSerial = "s", Type = "r:total.v1" }));
        Assert.Equal(SummaryMethod.Multiple, AnnotationRules.Validate(new Annotation { MessageSerial = "s", Type = "r:multiple.v1", Name = "x" }));
    }
}
