using System.Collections.Concurrent;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Channels;

/// <summary>
/// Hands a channel's deliveries to its subscribers off the publisher's path and outside the channel lock, one
/// delivery at a time and in the order they were posted (a serial work item on the thread pool, running only while
/// there is work). The channel posts each delivery with the subscriber set current at that point in its order, which
/// keeps the attach seam exact: a subscriber registered after a delivery was posted never receives it.
/// </summary>
internal sealed class ChannelDispatcher : IThreadPoolWorkItem
{
    /// <summary>Deliveries handed out per turn on a pool thread; a busy channel then yields the thread to the others.</summary>
    private const int DeliveriesPerTurn = 64;

    private readonly ConcurrentQueue<(MessageBatch? Batch, EncodedFrame? Frame, ChannelSubscriber[] Subscribers, TaskCompletionSource? Done)> _queue = new();
    private int _scheduled;

    public void Post(MessageBatch batch, ChannelSubscriber[] subscribers) => Post((batch, null, subscribers, null));

    /// <summary>A frame that must reach the subscribers after the deliveries posted before it (a message's summary).</summary>
    public void Post(EncodedFrame frame, ChannelSubscriber[] subscribers) => Post((null, frame, subscribers, null));

    /// <summary>Completes once everything posted before it has been handed to its subscribers (tests).</summary>
    public Task Dispatched()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Post((null, null, [], done));
        return done.Task;
    }

    private void Post((MessageBatch? Batch, EncodedFrame? Frame, ChannelSubscriber[] Subscribers, TaskCompletionSource? Done) work)
    {
        _queue.Enqueue(work);
        if (Interlocked.Exchange(ref _scheduled, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    public void Execute()
    {
        while (true)
        {
            for (var turn = 0; turn < DeliveriesPerTurn && _queue.TryDequeue(out var work); turn++)
            {
                if (work.Frame is { } frame)
                {
                    foreach (var subscriber in work.Subscribers)
                    {
                        subscriber.Deliver(frame);
                    }
                }
                else
                {
                    foreach (var subscriber in work.Subscribers)
                    {
                        subscriber.Deliver(work.Batch!);
                    }
                }

                work.Done?.TrySetResult();
            }

            if (!_queue.IsEmpty)
            {
                // Still scheduled (_scheduled stays 1): continue in a new work item, behind the other channels'.
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
                return;
            }

            Volatile.Write(ref _scheduled, 0);

            // A post that saw _scheduled == 1 just before it was cleared did not schedule: take its work here.
            if (_queue.IsEmpty || Interlocked.Exchange(ref _scheduled, 1) == 1)
            {
                return;
            }
        }
    }
}
