namespace VDiTLens.Text;

/// <summary>
/// Turns prompts into padded ids for a text encoder, as transformers' <c>tok(texts, padding="max_length",
/// max_length=N, truncation=True)</c> does: EOS appended (kept when truncating), right padding, mask 1 on tokens and EOS.
/// </summary>
public interface IPromptTokenizer
{
    /// <summary>Where the vocabulary came from, for messages.</summary>
    string Source { get; }

    /// <summary>Number of ids the tokenizer can produce (the encoder's embedding needs at least this many rows).</summary>
    int VocabularySize { get; }

    /// <summary>The prompt length the model was trained with, when the tokenizer folder says so (model_max_length).</summary>
    int? ModelMaxLength => null;

    /// <summary>int64 ids and mask [texts.Count, maxLength] on the CPU.</summary>
    TokenizedBatch Encode(IReadOnlyList<string> texts, int maxLength);

    /// <summary>
    /// The display text of each id of an encoded prompt (<see cref="TokenText"/>): special tokens by name, pieces and
    /// words as the text they stand for, so that joining them gives the normalised prompt back.
    /// </summary>
    string[] TokenTexts(IReadOnlyList<long> ids);
}
