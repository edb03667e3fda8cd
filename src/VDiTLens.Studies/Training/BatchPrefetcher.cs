using System.Collections.Concurrent;

namespace VDiTLens.Training;

/// <summary>Builds the batches of consecutive steps on a background thread, a few ahead of the consumer.</summary>
public sealed class BatchPrefetcher : IDisposable
{
    private readonly BlockingCollection<TrainingBatch> _queue;
    private readonly CancellationTokenSource _cancel = new();
    private readonly Task _worker;

    public BatchPrefetcher(TrainingBatchFactory factory, int firstStep, int endStep, int depth = 4)
    {
        _queue = new BlockingCollection<TrainingBatch>(depth);
        _worker = Task.Factory.StartNew(() =>
        {
            try
            {
                for (int step = firstStep; step < endStep && !_cancel.IsCancellationRequested; step++)
                {
                    var batch = factory.Build(step);
                    try { _queue.Add(batch, _cancel.Token); }
                    catch (OperationCanceledException) { batch.Dispose(); break; }
                }
            }
            finally { _queue.CompleteAdding(); }
        }, TaskCreationOptions.LongRunning);
    }

    /// <summary>The next step's batch (blocks until it is ready).</summary>
    public TrainingBatch Next()
    {
        try { return _queue.Take(); }
        catch (InvalidOperationException)
        {
            _worker.Wait(); // surfaces the producer's exception, if any
            throw new VDiTLensException("the batch producer stopped before the last step");
        }
    }

    public void Dispose()
    {
        _cancel.Cancel();
        try { _worker.Wait(); } catch (AggregateException) { }
        while (_queue.TryTake(out var batch)) batch.Dispose();
        _queue.Dispose();
        _cancel.Dispose();
    }
}
