using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Models.Common;

/// <summary>
/// The residual stream a transformer block reads and writes: the video tokens [B, N, C] in grid order and, in the
/// joint-attention families (CogVideoX, Mochi-1, HunyuanVideo), the text tokens [B, L, C]; null in Wan, whose text is
/// a fixed cross-attention context.
/// </summary>
public readonly record struct BlockStream(Tensor Video, Tensor? Text);

/// <summary>One block of the stack with everything but its stream bound (timestep embedding, rotary tables, masks).</summary>
public delegate BlockStream BlockRun(BlockStream input);

/// <summary>
/// Takes over the call of block <paramref name="block"/>: given the stream the model would feed it and the block
/// itself, returns the block's output (which the model then owns: return new tensors, not the input's).
/// </summary>
public delegate BlockStream BlockInterceptor(int block, BlockStream input, BlockRun run);

/// <summary>
/// The one way every transformer runs its block stack, so that studies can read and replace blocks without knowing
/// the family. Blocks are named by their checkpoint prefix (<c>blocks.3</c>, <c>transformer_blocks.3</c>,
/// <c>single_transformer_blocks.0</c>) in forward order. After each block the observer receives its output under
/// <c>{name}.hidden</c> (video tokens) and, in joint families, <c>{name}.encoder</c> (text tokens), each a detached
/// copy the observer owns; a family may report further intermediates under its own keys (the parity fixtures').
/// The interceptor, when set, runs the block instead of the model (teacher forcing, skipping, substitution).
/// </summary>
public sealed class BlockHooks(IReadOnlyList<string> names)
{
    public const string VideoSuffix = ".hidden", TextSuffix = ".encoder";

    /// <summary>The blocks' names in forward order (their parameter prefixes without the trailing dot).</summary>
    public IReadOnlyList<string> Names { get; } = names;

    public Action<string, Tensor>? Observer { get; set; }

    public BlockInterceptor? Interceptor { get; set; }

    /// <summary>Block <paramref name="index"/> on <paramref name="input"/>, through the interceptor if one is set, reported to the observer.</summary>
    public BlockStream Run(int index, BlockStream input, BlockRun run)
    {
        var output = Interceptor is { } take ? take(index, input, run) : run(input);
        Report(Names[index] + VideoSuffix, output.Video);
        if (output.Text is { } text) Report(Names[index] + TextSuffix, text);
        return output;
    }

    /// <summary>Gives the observer a detached copy of <paramref name="value"/> under <paramref name="key"/>.</summary>
    public void Report(string key, Tensor value)
    {
        if (Observer is { } observer)
            observer(key, value.detach().clone().DetachFromDisposeScope());
    }
}
