using TorchSharp;
using VDiTLens.IO;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>
/// The T5 / umT5 tokenizer: SentencePiece unigram segmentation plus what transformers' <c>T5Tokenizer</c> does
/// around it for <c>tok(texts, padding="max_length", max_length=N, truncation=True)</c>: EOS appended,
/// truncation to N−1 pieces + EOS, right padding with the pad id, and the attention mask.
/// </summary>
public sealed class UnigramTokenizer : IPromptTokenizer
{
    public const string SentencePieceFileName = "spiece.model";
    public const string TokenizerJsonFileName = "tokenizer.json";

    private readonly SentencePieceNormalizer _normalizer;

    public UnigramModel Model { get; }
    public int EosId { get; }
    public int PadId { get; }
    /// <summary>Where the vocabulary came from, for messages.</summary>
    public string Source { get; }
    public int VocabularySize => Model.Count;

    public UnigramTokenizer(SentencePieceModel model, string source)
    {
        Source = source;
        if (model.Trainer.ModelType != SentencePieceModel.UnigramModelType)
            throw new VDiTLensException($"{source}: trainer_spec.model_type = {model.Trainer.ModelType} is not a unigram model (1); only unigram SentencePiece models (T5, umT5) are supported");
        EosId = CheckId(model.Trainer.EosId, "eos_id", model.Pieces.Count, source);
        PadId = CheckId(model.Trainer.PadId, "pad_id", model.Pieces.Count, source);
        Model = new UnigramModel(model.Pieces, model.Trainer.UnkId, model.Trainer.ByteFallback, source);
        _normalizer = new SentencePieceNormalizer(model.Normalizer, model.Trainer.TreatWhitespaceAsSuffix, source);
    }

    /// <summary>
    /// A tokenizer folder (or a pipeline folder, whose <c>tokenizer/</c> is used): <c>spiece.model</c> when
    /// present, otherwise <c>tokenizer.json</c>.
    /// </summary>
    public static UnigramTokenizer FromFolder(string path)
    {
        if (PipelineFolder.IsPipeline(path)) path = PipelineFolder.Open(path).ComponentPath("tokenizer");
        if (!Directory.Exists(path)) throw new VDiTLensException($"{path}: tokenizer folder not found");
        string spiece = Path.Combine(path, SentencePieceFileName);
        if (File.Exists(spiece)) return FromSentencePieceModel(spiece);
        string json = Path.Combine(path, TokenizerJsonFileName);
        if (File.Exists(json)) return FromTokenizerJson(json);
        throw new VDiTLensException($"{path}: no {SentencePieceFileName} or {TokenizerJsonFileName}; point at the pipeline's tokenizer folder");
    }

    public static UnigramTokenizer FromSentencePieceModel(string file) => new(SentencePieceModel.Read(file), file);

    public static UnigramTokenizer FromTokenizerJson(string file) => new(HfTokenizerJson.Read(file).Model, file);

    /// <summary>The text as SentencePiece normalises it (nmt_nfkc rules, whitespace collapsed, "▁" for spaces).</summary>
    public string Normalize(string text) => _normalizer.Normalize(text);

    /// <summary>SentencePiece pieces and ids of one text, without EOS (SentencePieceProcessor.encode).</summary>
    public IReadOnlyList<(string Piece, int Id)> Tokenize(string text) => Model.Segment(Normalize(text));

    /// <summary>Ids of one text with EOS appended, not padded; truncated to <paramref name="maxLength"/> (EOS kept) if given.</summary>
    public int[] EncodeIds(string text, int? maxLength = null)
    {
        var pieces = Tokenize(text);
        int keep = maxLength is { } m ? Math.Min(pieces.Count, m - 1) : pieces.Count;
        var ids = new int[keep + 1];
        for (int i = 0; i < keep; i++) ids[i] = pieces[i].Id;
        ids[keep] = EosId;
        return ids;
    }

    /// <summary>
    /// <c>T5Tokenizer(texts, padding="max_length", max_length, truncation=True)</c>: int64 ids and mask [B, maxLength] on the CPU.
    /// </summary>
    public TokenizedBatch Encode(IReadOnlyList<string> texts, int maxLength) =>
        TokenizedBatch.Pad(texts.Select(t => EncodeIds(t, Math.Max(maxLength, 1))).ToList(), maxLength, PadId);

    /// <summary>Each id's piece with "▁" as a space; control and unknown pieces by name (&lt;/s&gt;, &lt;pad&gt;, &lt;unk&gt;), byte pieces as &lt;0xHH&gt;.</summary>
    public string[] TokenTexts(IReadOnlyList<long> ids) => ids.Select(id =>
    {
        if (id < 0 || id >= Model.Count) throw new VDiTLensException($"{Source}: token id {id} is outside the vocabulary of {Model.Count} pieces");
        var piece = Model.Piece((int)id);
        return piece.Type == PieceType.Normal || piece.Type == PieceType.UserDefined ? TokenText.FromPiece(piece.Piece) : piece.Piece;
    }).ToArray();

    private static int CheckId(int id, string field, int count, string source)
    {
        if (id < 0 || id >= count)
            throw new VDiTLensException($"{source}: trainer_spec.{field} = {id} is not a valid piece id (vocabulary of {count}); T5 tokenizers need pad and eos ids");
        return id;
    }
}
