using TokenWire.Protocol;

namespace TokenWire.Server.Channels;

/// <summary>
/// An Ably subscription filter (<c>channels.getDerived(name, { filter })</c>, the <c>[filter=…]</c> qualifier): a
/// JMESPath subset over a message's <c>name</c> and <c>extras.headers</c> — <c>name</c>, <c>headers.key</c> (or
/// <c>headers."any key"</c>), JSON literals in backquotes, raw strings in single quotes, <c>== != &lt; &lt;= &gt;
/// &gt;=</c>, <c>&amp;&amp; || !</c> and parentheses. Compiled once per attachment; <see cref="Matches"/> reads the
/// message in place and allocates nothing (but for a header string with JSON escapes).
/// </summary>
public sealed partial class MessageFilter
{
    /// <summary>Bounds the work one attachment's filter costs per message.</summary>
    public const int MaxLength = 2048;

    private readonly FilterNode _root;

    private MessageFilter(string expression, FilterNode root)
    {
        Expression = expression;
        _root = root;
    }

    public string Expression { get; }

    /// <summary>Compiles <paramref name="expression"/>; a bad one is 40003 with where and why.</summary>
    public static bool TryParse(string expression, out MessageFilter? filter, out ErrorInfo? error)
    {
        filter = null;
        error = null;
        if (expression.Length > MaxLength)
        {
            error = ErrorCodes.Create(ErrorCodes.InvalidParameterValue, $"Invalid filter expression: longer than {MaxLength} characters");
            return false;
        }

        try
        {
            filter = new MessageFilter(expression, new Parser(expression).ParseAll());
            return true;
        }
        catch (FormatException ex)
        {
            error = ErrorCodes.Create(ErrorCodes.InvalidParameterValue, $"Invalid filter expression '{expression}': {ex.Message}");
            return false;
        }
    }

    public bool Matches(Message message) =>
        _root.Evaluate(new FilterSubject(message.Name, message.Extras is { } extras ? extras.Utf8Json.Span : default)).IsTruthy;

    public override string ToString() => Expression;
}
