namespace VDiTLens.Text.Bpe;

/// <summary>
/// What a tokenizer's post-processor puts around one sequence (TemplateProcessing's <c>single</c>, or
/// Roberta/Bert processing's cls … sep), and how transformers' <c>truncation=True, padding="max_length"</c> fits the
/// result into <c>max_length</c>: the text's ids are cut to leave room for the special tokens, then padded.
/// </summary>
public sealed record SpecialTokenTemplate(int[] Prefix, int[] Suffix)
{
    public static readonly SpecialTokenTemplate None = new(Array.Empty<int>(), Array.Empty<int>());

    public int Count => Prefix.Length + Suffix.Length;

    /// <summary>Prefix, the text's ids (cut to <paramref name="maxLength"/> − specials when given), suffix.</summary>
    public int[] Apply(IReadOnlyList<int> ids, int? maxLength, string source)
    {
        int keep = ids.Count;
        if (maxLength is { } max)
        {
            if (max < Count)
                throw new VDiTLensException($"{source}: max_length {max} leaves no room for the {Count} special token(s) the tokenizer adds");
            keep = Math.Min(keep, max - Count);
        }
        return Prefix.Concat(ids.Take(keep)).Concat(Suffix).ToArray();
    }
}
