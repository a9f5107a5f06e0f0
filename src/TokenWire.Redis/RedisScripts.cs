using System.Reflection;

namespace TokenWire.Redis;

/// <summary>
/// The Lua scripts, embedded from <c>Scripts/*.lua</c>. Channel scripts get <c>channel.lua</c> (shared helpers)
/// prepended. StackExchange.Redis sends each by SHA (EVALSHA) once known and falls back to EVAL after a Redis
/// restart has emptied the script cache.
/// </summary>
internal static class RedisScripts
{
    public static readonly string Append = Channel("append.lua");
    public static readonly string Head = Channel("head.lua");
    public static readonly string ReadAfter = Channel("read_after.lua");
    public static readonly string ReadRecent = Channel("read_recent.lua");
    public static readonly string History = Channel("history.lua");
    public static readonly string Mutate = Channel("mutate.lua");
    public static readonly string Message = Channel("message.lua");
    public static readonly string MessageExists = Channel("message_exists.lua");
    public static readonly string ConnectionBind = Load("connection_bind.lua");
    public static readonly string ConnectionDisconnect = Load("connection_disconnect.lua");
    public static readonly string Revoke = Load("revoke.lua");
    public static readonly string PresenceApply = Load("presence_apply.lua");
    public static readonly string StatsAdd = Load("stats_add.lua");
    public static readonly string AnnotationState = Load("annotation_state.lua");
    public static readonly string Annotate = Load("annotate.lua");
    public static readonly string PushSaveDevice = Load("push_save_device.lua");
    public static readonly string PushRemoveDevice = Load("push_remove_device.lua");
    public static readonly string PushSubscriptions = Load("push_subscriptions.lua");

    private static string Channel(string name) => Load("channel.lua") + "\n" + Load(name);

    private static string Load(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("TokenWire.Redis.Scripts." + name)
            ?? throw new InvalidOperationException($"Embedded script {name} is missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
