using TorchSharp;
using VDiTLens.Runtime;
using VDiTLens.Text;

namespace VDiTLens.Pipelines;

/// <summary>
/// Builds a pipeline's components from their weights or, for benchmarks, freshly initialised from their configs
/// (seeded, in evaluation mode). Disposing frees what was built unless <see cref="Keep"/> handed it to the pipeline,
/// so a component that fails to load does not leak the ones before it.
/// </summary>
internal sealed class PipelineComponents : IDisposable
{
    private readonly List<IDisposable> _built = new();
    private readonly IDisposable? _seeded;
    private readonly bool _randomWeights;
    private readonly ComputeOptions _options;
    private bool _kept;

    public PipelineComponents(ComputeOptions options, bool randomWeights)
    {
        _options = options;
        _randomWeights = randomWeights;
        _seeded = randomWeights ? SeededBuild.Enter(options) : null;
    }

    /// <summary>The folder's tokenizer, refused when it has more ids than the text encoder's vocabulary.</summary>
    public static IPromptTokenizer Tokenizer(string tokenizerPath, T5EncoderConfig textEncoder)
    {
        var tokenizer = TokenizerLoader.Load(tokenizerPath);
        if (tokenizer.VocabularySize > textEncoder.vocab_size)
            throw new VDiTLensException(
                $"component sizes do not match: the tokenizer ({tokenizer.Source}) has {tokenizer.VocabularySize} ids but text_encoder/config.json vocab_size = {textEncoder.vocab_size}");
        return tokenizer;
    }

    public ITextEncoder T5TextEncoder(T5EncoderConfig config, string path) =>
        Add<ITextEncoder>(o => new T5EncoderModel(config, o.Device, o.DType), o => TextEncoderLoader.Load(path, o));

    /// <summary>One component: <paramref name="random"/> builds it from its config, <paramref name="load"/> reads its weights.</summary>
    public T Add<T>(Func<ComputeOptions, T> random, Func<ComputeOptions, T> load) where T : IDisposable
    {
        var component = _randomWeights ? random(_options) : load(_options);
        if (_randomWeights && component is torch.nn.Module module) module.eval();
        _built.Add(component);
        return component;
    }

    /// <summary>The components now belong to the pipeline.</summary>
    public void Keep() => _kept = true;

    public void Dispose()
    {
        if (!_kept)
            foreach (var component in _built) component.Dispose();
        _seeded?.Dispose();
    }
}
