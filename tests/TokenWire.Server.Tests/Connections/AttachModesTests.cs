using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Connections;

namespace TokenWire.Server.Tests.Connections;

public sealed class AttachModesTests
{
    [Fact]
    public void No_requested_modes_grants_the_default_set_within_the_capability()
    {
        Assert.Equal(AttachModes.Default, AttachModes.Grant(ProtocolFlags.None, ChannelOperation.Publish | ChannelOperation.Subscribe | ChannelOperation.Presence | ChannelOperation.AnnotationPublish));
        Assert.Equal(ProtocolFlags.Subscribe | ProtocolFlags.PresenceSubscribe, AttachModes.Grant(ProtocolFlags.None, ChannelOperation.Subscribe));
    }

    [Fact]
    public void Requested_modes_are_cut_to_what_the_capability_permits()
    {
        var granted = AttachModes.Grant(ProtocolFlags.Publish | ProtocolFlags.Subscribe, ChannelOperation.Subscribe | ChannelOperation.History);
        Assert.Equal(ProtocolFlags.Subscribe, granted);
    }

    [Fact]
    public void Subscribe_right_permits_presence_subscribe_and_object_rights_their_modes()
    {
        Assert.Equal(ProtocolFlags.Subscribe | ProtocolFlags.PresenceSubscribe, AttachModes.Permitted(ChannelOperation.Subscribe));
        Assert.Equal(ProtocolFlags.ObjectPublish | ProtocolFlags.ObjectSubscribe, AttachModes.Permitted(ChannelOperation.ObjectPublish | ChannelOperation.ObjectSubscribe));
        Assert.Equal(ProtocolFlags.None, AttachModes.Permitted(ChannelOperation.History));
    }
}

public sealed class ChannelAttachmentsTests
{
    private static ChannelAttachment Attachment(ProtocolFlags modes, ProtocolFlags requested) => new(null!, null, null!, modes, requested);

    [Fact]
    public void A_client_that_took_the_default_set_may_publish_once_its_rights_allow()
    {
        // Granted subscribe only, but requested nothing: an in-band AUTH adding publish lets it publish (ably-js
        // reauthCapabilityUpgradeAddPublish).
        Assert.True(Attachment(ProtocolFlags.Subscribe, ProtocolFlags.None).ModesAllow(ProtocolFlags.Publish));
    }

    [Fact]
    public void A_client_that_chose_its_modes_may_use_only_those()
    {
        var attachment = Attachment(ProtocolFlags.Subscribe, ProtocolFlags.Subscribe);
        Assert.False(attachment.ModesAllow(ProtocolFlags.Publish));
        Assert.False(attachment.ModesAllow(ProtocolFlags.Presence));
        Assert.True(attachment.ModesAllow(ProtocolFlags.Subscribe));
    }

    [Fact]
    public void Remove_where_takes_only_the_matching_channels_and_take_all_empties_the_table()
    {
        var table = new ChannelAttachments();
        table.Set("a", Attachment(ProtocolFlags.Subscribe, ProtocolFlags.None));
        table.Set("b", Attachment(ProtocolFlags.Subscribe, ProtocolFlags.None));
        table.Set("c", Attachment(ProtocolFlags.Subscribe, ProtocolFlags.None));

        var removed = table.RemoveWhere(name => name != "b");

        Assert.Equal(["a", "c"], removed.Select(r => r.Name).Order());
        Assert.Equal(1, table.Count);
        Assert.True(table.TryGet("b", out _));
        Assert.Single(table.TakeAll());
        Assert.Equal(0, table.Count);
    }
}
