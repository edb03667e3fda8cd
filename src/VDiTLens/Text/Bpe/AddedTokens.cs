namespace VDiTLens.Text.Bpe;

/// <summary>
/// Tokens matched in the raw text before pre-tokenization (Hugging Face tokenizers' added vocabulary: Llama 3's
/// <c>&lt;|begin_of_text|&gt;</c>, <c>&lt;|eot_id|&gt;</c>…, CLIP's <c>&lt;|endoftext|&gt;</c>): the leftmost match wins,
/// the longest among those starting there; the text between matches goes to the model.
/// </summary>
public sealed class AddedTokens
{
    private readonly Dictionary<string, int> _ids;
    private readonly string[] _byLength;

    public AddedTokens(Dictionary<string, int> ids)
    {
        _ids = ids;
        _byLength = ids.Keys.Where(k => k.Length > 0).OrderByDescending(k => k.Length).ThenBy(k => k, StringComparer.Ordinal).ToArray();
    }

    public IReadOnlyDictionary<string, int> Ids => _ids;

    /// <summary>The text cut at added tokens: (text, null) for plain segments, (token, id) for a match.</summary>
    public IEnumerable<(string Text, int? Id)> Split(string text)
    {
        int start = 0, i = 0;
        while (i < text.Length)
        {
            string? found = _byLength.Length == 0 ? null : _byLength.FirstOrDefault(t => string.CompareOrdinal(text, i, t, 0, t.Length) == 0);
            if (found is null)
            {
                i++;
                continue;
            }
            if (i > start) yield return (text[start..i], null);
            yield return (found, _ids[found]);
            i += found.Length;
            start = i;
        }
        if (start < text.Length) yield return (text[start..], null);
    }
}
