namespace TokenWire.Server.Channels;

/// <summary>A compiled subscription filter expression: a tree evaluated per message on the stack.</summary>
internal abstract class FilterNode
{
    internal enum Comparison
    {
        Equal,
        NotEqual,
        Less,
        LessOrEqual,
        Greater,
        GreaterOrEqual,
    }

    public abstract FilterValue Evaluate(FilterSubject subject);

    internal sealed class NameField : FilterNode
    {
        public override FilterValue Evaluate(FilterSubject subject) =>
            subject.Name is { } name ? FilterValue.OfText(name) : FilterValue.Null;
    }

    internal sealed class HeaderField(string key) : FilterNode
    {
        private readonly byte[] _key = System.Text.Encoding.UTF8.GetBytes(key);

        public override FilterValue Evaluate(FilterSubject subject) => subject.Header(_key);
    }

    internal sealed class LiteralValue : FilterNode
    {
        private readonly FilterValueKind _kind;
        private readonly double _number;
        private readonly string? _text;
        private readonly byte[]? _utf8;

        private LiteralValue(FilterValueKind kind, double number = 0, string? text = null)
        {
            _kind = kind;
            _number = number;
            _text = text;
            _utf8 = text is null ? null : System.Text.Encoding.UTF8.GetBytes(text);
        }

        public static LiteralValue Null { get; } = new(FilterValueKind.Null);

        public static LiteralValue Of(bool value) => new(value ? FilterValueKind.True : FilterValueKind.False);

        public static LiteralValue Of(double value) => new(FilterValueKind.Number, value);

        public static LiteralValue Of(string value) => new(FilterValueKind.String, text: value);

        public override FilterValue Evaluate(FilterSubject subject) => _kind switch
        {
            FilterValueKind.Number => FilterValue.OfNumber(_number),
            FilterValueKind.String => FilterValue.OfLiteral(_text!, _utf8!),
            FilterValueKind.True => FilterValue.Bool(true),
            FilterValueKind.False => FilterValue.Bool(false),
            _ => FilterValue.Null,
        };
    }

    /// <summary>JMESPath comparators: equality on any two values; ordering on numbers only, anything else is null.</summary>
    internal sealed class Compare(Comparison comparison, FilterNode left, FilterNode right) : FilterNode
    {
        public override FilterValue Evaluate(FilterSubject subject)
        {
            var a = left.Evaluate(subject);
            var b = right.Evaluate(subject);
            switch (comparison)
            {
                case Comparison.Equal:
                    return FilterValue.Bool(FilterValue.AreEqual(a, b));
                case Comparison.NotEqual:
                    return FilterValue.Bool(!FilterValue.AreEqual(a, b));
            }

            if (a.Kind != FilterValueKind.Number || b.Kind != FilterValueKind.Number)
            {
                return FilterValue.Null;
            }

            return FilterValue.Bool(comparison switch
            {
                Comparison.Less => a.Number < b.Number,
                Comparison.LessOrEqual => a.Number <= b.Number,
                Comparison.Greater => a.Number > b.Number,
                _ => a.Number >= b.Number,
            });
        }
    }

    /// <summary><c>a &amp;&amp; b</c>: <c>a</c> when it is falsy, else <c>b</c> (JMESPath returns the operand, not a boolean).</summary>
    internal sealed class And(FilterNode left, FilterNode right) : FilterNode
    {
        public override FilterValue Evaluate(FilterSubject subject)
        {
            var a = left.Evaluate(subject);
            return a.IsTruthy ? right.Evaluate(subject) : a;
        }
    }

    /// <summary><c>a || b</c>: <c>a</c> when it is truthy, else <c>b</c>.</summary>
    internal sealed class Or(FilterNode left, FilterNode right) : FilterNode
    {
        public override FilterValue Evaluate(FilterSubject subject)
        {
            var a = left.Evaluate(subject);
            return a.IsTruthy ? a : right.Evaluate(subject);
        }
    }

    internal sealed class Not(FilterNode operand) : FilterNode
    {
        public override FilterValue Evaluate(FilterSubject subject) => FilterValue.Bool(!operand.Evaluate(subject).IsTruthy);
    }
}
