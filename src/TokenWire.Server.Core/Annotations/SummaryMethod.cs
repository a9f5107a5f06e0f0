namespace TokenWire.Server.Annotations;

/// <summary>How a type's annotations are folded into a message's summary (the <c>method.v1</c> part of the type).</summary>
public enum SummaryMethod
{
    /// <summary><c>total.v1</c>: a count of annotations; anyone may publish.</summary>
    Total,

    /// <summary><c>flag.v1</c>: the clients that flagged the message, each once.</summary>
    Flag,

    /// <summary><c>distinct.v1</c>: per name, the clients that used it, each once per name.</summary>
    Distinct,

    /// <summary><c>unique.v1</c>: per name, the clients that used it; each client in one name at a time.</summary>
    Unique,

    /// <summary><c>multiple.v1</c>: per name, each client's summed counts and the unidentified clients' total.</summary>
    Multiple,
}
