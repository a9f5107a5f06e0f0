namespace TokenWire.Protocol;

/// <summary>Message <c>action</c> values (TM5, reference §3.1); ints on the wire.</summary>
public static class MessageActions
{
    public const int Create = 0;
    public const int Update = 1;
    public const int Delete = 2;
    public const int Meta = 3;
    public const int Summary = 4;
    public const int Append = 5;

    /// <summary>Update, delete and append operate on an existing message, named by its <c>serial</c>.</summary>
    public static bool IsMutation(int? action) => action is Update or Delete or Append;
}
