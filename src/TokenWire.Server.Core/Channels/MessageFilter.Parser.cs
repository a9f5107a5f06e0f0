using System.Globalization;
using System.Text.Json;

namespace TokenWire.Server.Channels;

public sealed partial class MessageFilter
{
    /// <summary>
    /// Recursive descent with JMESPath's binding: <c>||</c> loosest, then <c>&amp;&amp;</c>, then comparators, then
    /// <c>!</c>. Throws <see cref="FormatException"/> naming the position of the first problem.
    /// </summary>
    private sealed class Parser(string text)
    {
        private const int MaxDepth = 32;
        private const int MaxNodes = 256;

        private int _position;
        private int _depth;
        private int _nodes;

        public FilterNode ParseAll()
        {
            SkipSpace();
            if (_position == text.Length)
            {
                throw new FormatException("the expression is empty");
            }

            var root = ParseOr();
            SkipSpace();
            if (_position < text.Length)
            {
                throw Error($"unexpected '{text[_position]}'");
            }

            return root;
        }

        private FilterNode ParseOr()
        {
            var left = ParseAnd();
            while (Accept("||"))
            {
                left = Count(new FilterNode.Or(left, ParseAnd()));
            }

            return left;
        }

        private FilterNode ParseAnd()
        {
            var left = ParseComparison();
            while (Accept("&&"))
            {
                left = Count(new FilterNode.And(left, ParseComparison()));
            }

            return left;
        }

        private FilterNode ParseComparison()
        {
            var left = ParseUnary();
            while (AcceptComparator() is { } comparison)
            {
                left = Count(new FilterNode.Compare(comparison, left, ParseUnary()));
            }

            return left;
        }

        private FilterNode ParseUnary()
        {
            SkipSpace();
            if (Peek() == '!' && Peek(1) != '=')
            {
                _position++;
                return Nested(() => new FilterNode.Not(ParseUnary()));
            }

            return ParsePrimary();
        }

        private FilterNode ParsePrimary()
        {
            SkipSpace();
            var c = Peek();
            switch (c)
            {
                case '(':
                    _position++;
                    var inner = Nested(ParseOr);
                    SkipSpace();
                    if (!Accept(")"))
                    {
                        throw Error("missing ')'");
                    }

                    return inner;
                case '`':
                    return Count(ParseJsonLiteral());
                case '\'':
                    return Count(FilterNode.LiteralValue.Of(ParseRawString()));
                case '\0':
                    throw Error("the expression ends where a value was expected");
            }

            if (char.IsAsciiDigit(c) || c == '-')
            {
                throw Error("a number must be a JSON literal in backquotes, such as `5`");
            }

            return Count(ParseField());
        }

        /// <summary><c>name</c> or <c>headers.key</c>: the only message fields Ably filters on.</summary>
        private FilterNode ParseField()
        {
            var start = _position;
            var first = ParseIdentifier();
            SkipSpace();
            if (first == "name" && Peek() != '.')
            {
                return new FilterNode.NameField();
            }

            if (first == "headers" && Accept("."))
            {
                SkipSpace();
                var key = ParseIdentifier();
                SkipSpace();
                if (Peek() == '.' || Peek() == '[')
                {
                    throw Error("headers are flat: 'headers.<key>' has no further fields");
                }

                return new FilterNode.HeaderField(key);
            }

            _position = start;
            throw Error($"only 'name' and 'headers.<key>' can be filtered on, not '{first}'");
        }

        private string ParseIdentifier()
        {
            var start = _position;
            if (Peek() == '"')
            {
                return ParseQuotedIdentifier();
            }

            if (!(char.IsAsciiLetter(Peek()) || Peek() == '_'))
            {
                throw Error(Peek() == '\0' ? "the expression ends where a field was expected" : $"unexpected '{Peek()}'");
            }

            while (char.IsAsciiLetterOrDigit(Peek()) || Peek() == '_')
            {
                _position++;
            }

            return text[start.._position];
        }

        /// <summary>A JMESPath quoted identifier: a JSON string, for header keys that are not plain identifiers.</summary>
        private string ParseQuotedIdentifier()
        {
            var start = _position;
            _position++;
            while (Peek() != '"')
            {
                if (Peek() == '\0')
                {
                    _position = start;
                    throw Error("unterminated quoted identifier");
                }

                _position += Peek() == '\\' ? 2 : 1;
            }

            _position++;
            try
            {
                var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(text[start.._position]));
                reader.Read();
                return reader.GetString()!;
            }
            catch (JsonException)
            {
                _position = start;
                throw Error("invalid quoted identifier");
            }
        }

        /// <summary><c>`json`</c>: a string, number, boolean or null (<c>\`</c> is a backquote inside).</summary>
        private FilterNode ParseJsonLiteral()
        {
            var start = _position;
            var end = text.IndexOf('`', _position + 1);
            while (end > 0 && text[end - 1] == '\\')
            {
                end = text.IndexOf('`', end + 1);
            }

            if (end < 0)
            {
                throw Error("unterminated literal: a '`' is missing");
            }

            var json = text.Substring(start + 1, end - start - 1).Replace("\\`", "`", StringComparison.Ordinal);
            _position = end + 1;
            try
            {
                using var document = JsonDocument.Parse(json);
                var value = document.RootElement;
                return value.ValueKind switch
                {
                    JsonValueKind.String => FilterNode.LiteralValue.Of(value.GetString()!),
                    JsonValueKind.Number => FilterNode.LiteralValue.Of(value.GetDouble()),
                    JsonValueKind.True => FilterNode.LiteralValue.Of(true),
                    JsonValueKind.False => FilterNode.LiteralValue.Of(false),
                    JsonValueKind.Null => FilterNode.LiteralValue.Null,
                    _ => throw new FormatException($"at {start + 1}: only string, number, boolean and null literals are supported"),
                };
            }
            catch (JsonException)
            {
                _position = start;
                throw Error($"`{json}` is not a JSON value (a string literal needs its quotes: `\"text\"`)");
            }
        }

        /// <summary><c>'raw string'</c>: <c>\'</c> is a quote, <c>\\</c> a backslash, any other character itself.</summary>
        private string ParseRawString()
        {
            var start = _position;
            _position++;
            var value = new System.Text.StringBuilder();
            while (Peek() != '\'')
            {
                if (Peek() == '\0' && _position >= text.Length)
                {
                    _position = start;
                    throw Error("unterminated raw string: a ' is missing");
                }

                if (Peek() == '\\' && (Peek(1) == '\'' || Peek(1) == '\\'))
                {
                    _position++;
                }

                value.Append(text[_position++]);
            }

            _position++;
            return value.ToString();
        }

        private FilterNode.Comparison? AcceptComparator()
        {
            SkipSpace();
            FilterNode.Comparison? comparison = (Peek(), Peek(1)) switch
            {
                ('=', '=') => FilterNode.Comparison.Equal,
                ('!', '=') => FilterNode.Comparison.NotEqual,
                ('<', '=') => FilterNode.Comparison.LessOrEqual,
                ('>', '=') => FilterNode.Comparison.GreaterOrEqual,
                ('<', _) => FilterNode.Comparison.Less,
                ('>', _) => FilterNode.Comparison.Greater,
                ('=', _) => throw Error("'=' is not an operator: compare with '=='"),
                _ => null,
            };
            if (comparison is { } found)
            {
                _position += found is FilterNode.Comparison.Less or FilterNode.Comparison.Greater ? 1 : 2;
            }

            return comparison;
        }

        private bool Accept(string token)
        {
            SkipSpace();
            if (string.CompareOrdinal(text, _position, token, 0, token.Length) != 0)
            {
                if (token is "&&" or "||" && Peek() == token[0])
                {
                    throw Error($"'{token[0]}' is not supported: use '{token}'");
                }

                return false;
            }

            _position += token.Length;
            return true;
        }

        private FilterNode Nested(Func<FilterNode> parse)
        {
            if (++_depth > MaxDepth)
            {
                throw Error($"nested deeper than {MaxDepth}");
            }

            var node = Count(parse());
            _depth--;
            return node;
        }

        private FilterNode Count(FilterNode node) =>
            ++_nodes > MaxNodes ? throw Error($"more than {MaxNodes} terms") : node;

        private void SkipSpace()
        {
            while (_position < text.Length && char.IsWhiteSpace(text[_position]))
            {
                _position++;
            }
        }

        private char Peek(int ahead = 0) => _position + ahead < text.Length ? text[_position + ahead] : '\0';

        private FormatException Error(string reason) =>
            new(string.Create(CultureInfo.InvariantCulture, $"at {_position + 1}: {reason}"));
    }
}
