namespace VDiTLens.Training.LanguageModel;

/// <summary>A procedural token language the tiny causal LM can be trained on (<see cref="TokenLanguages"/> names them).</summary>
public interface ITokenLanguage
{
    /// <summary>The name <c>train-tiny-lm --language</c> and <c>training.json</c> use.</summary>
    string Name { get; }

    /// <summary>The name of every token, by id; its count is the vocabulary size.</summary>
    IReadOnlyList<string> Tokens { get; }

    /// <summary>The id every sequence starts with.</summary>
    long Bos { get; }

    /// <summary>The end-of-example id, when the language has one.</summary>
    long? Eos { get; }

    /// <summary>The grammar in one paragraph, as <c>training.json</c> records it.</summary>
    string Description { get; }

    /// <summary>
    /// One sequence of <paramref name="length"/> ids and, per position, whether the token is fixed by the rules given
    /// the prefix (an answer, a backcopy): the tokens the held-out accuracy is measured on.
    /// </summary>
    (long[] Ids, bool[] Answer) Sample(Random random, int length);

    /// <summary>
    /// Per position t ≥ 1 of a sequence of this language, the entropy (nats) of the language's own distribution of token t
    /// given tokens &lt; t: the floor of a model's next-token loss there. Null when the language does not define it.
    /// </summary>
    double[]? Entropies(long[] ids);
}
