using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Procedural;

/// <summary>A caption encoded to token ids: <see cref="Ids"/> ends with EOS then PAD; <see cref="Mask"/> is 1 on tokens and EOS, 0 on padding.</summary>
public sealed record EncodedCaption(long[] Ids, long[] Mask);

/// <summary>
/// Word-level vocabulary for the tiny T5-style text encoder of the procedural model. Ids are fixed: the word list is
/// append-only (ids of trained models must not move). PAD = 0, EOS = 1, UNK = 2 as in T5.
/// Text is lower-cased and split on anything that is not a letter; unknown words become UNK.
/// </summary>
public sealed class CaptionVocabulary
{
    public const long PadId = 0;
    public const long EosId = 1;
    public const long UnkId = 2;

    /// <summary>Default token length: the longest generated caption (14 words) plus EOS, rounded up.</summary>
    public const int DefaultMaxLength = 16;

    private static readonly string[] OrderedWords =
    {
        "<pad>", "</s>", "<unk>",
        "a", "moving", "slowly", "quickly", "on", "background", "beside", "static",
        "red", "green", "blue", "yellow", "magenta", "white",
        "square", "circle", "triangle", "cross",
        "left", "right", "up", "down",
        "plain", "noisy", "striped",
        // Common prompt words a user may type; they carry no attribute.
        "an", "the", "and", "with", "of", "object", "shape", "video",
        // Multi-object scenes (SceneCaption).
        "solid", "dotted", "as", "camera", "pans",
    };

    /// <summary>Ids of the single-object captions and the common words (the embedded tiny model's embedding rows).</summary>
    public const int SingleObjectSize = 36;

    private readonly Dictionary<string, long> _ids;

    /// <summary>The single shared instance (the vocabulary has no state beyond its fixed word list).</summary>
    public static CaptionVocabulary Default { get; } = new();

    private CaptionVocabulary()
    {
        _ids = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < OrderedWords.Length; i++) _ids.Add(OrderedWords[i], i);
    }

    /// <summary>Number of ids (the text encoder's embedding rows).</summary>
    public int Size => OrderedWords.Length;

    /// <summary>The words in id order.</summary>
    public IReadOnlyList<string> Words => OrderedWords;

    /// <summary>The id of one word (UNK if not in the vocabulary).</summary>
    public long IdOf(string word) => _ids.TryGetValue(word.ToLowerInvariant(), out long id) ? id : UnkId;

    /// <summary>Lower-cased words of <paramref name="text"/> (split on anything that is not a letter).</summary>
    public static IReadOnlyList<string> Tokenise(string text)
    {
        var words = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool letter = i < text.Length && char.IsLetter(text[i]);
            if (letter && start < 0) start = i;
            else if (!letter && start >= 0)
            {
                words.Add(text[start..i].ToLowerInvariant());
                start = -1;
            }
        }
        return words;
    }

    /// <summary>Ids of the words then EOS, truncated so EOS always fits, padded with PAD to <paramref name="maxLength"/>.</summary>
    public EncodedCaption Encode(string text, int maxLength = DefaultMaxLength)
    {
        if (maxLength < 1) throw new VDiTLensException($"caption maxLength is {maxLength}; it must be at least 1 (room for EOS)");
        var words = Tokenise(text);
        int kept = Math.Min(words.Count, maxLength - 1);
        var ids = new long[maxLength];
        var mask = new long[maxLength];
        for (int i = 0; i < kept; i++)
        {
            ids[i] = IdOf(words[i]);
            mask[i] = 1;
        }
        ids[kept] = EosId;
        mask[kept] = 1;
        return new EncodedCaption(ids, mask);
    }

    /// <summary>Int64 tensors [batch, maxLength]: token ids and attention mask (1 = attend).</summary>
    public (Tensor Ids, Tensor Mask) EncodeBatch(IReadOnlyList<string> texts, int maxLength = DefaultMaxLength)
    {
        var ids = new long[texts.Count * maxLength];
        var mask = new long[texts.Count * maxLength];
        for (int b = 0; b < texts.Count; b++)
        {
            var encoded = Encode(texts[b], maxLength);
            Array.Copy(encoded.Ids, 0, ids, b * maxLength, maxLength);
            Array.Copy(encoded.Mask, 0, mask, b * maxLength, maxLength);
        }
        var shape = new long[] { texts.Count, maxLength };
        return (torch.tensor(ids, shape), torch.tensor(mask, shape));
    }

    /// <summary>The words of ids up to the first EOS (PAD skipped) joined by spaces.</summary>
    public string Decode(IEnumerable<long> ids)
    {
        var words = new List<string>();
        foreach (long id in ids)
        {
            if (id == EosId) break;
            if (id == PadId) continue;
            words.Add(id >= 0 && id < OrderedWords.Length ? OrderedWords[id] : OrderedWords[UnkId]);
        }
        return string.Join(' ', words);
    }
}
