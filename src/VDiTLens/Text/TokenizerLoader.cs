using VDiTLens.IO;

namespace VDiTLens.Text;

/// <summary>
/// Picks the tokenizer a folder holds: SentencePiece unigram (<c>spiece.model</c> or <c>tokenizer.json</c>, T5/umT5)
/// or a word-level <c>vocab.json</c> (the embedded tiny models).
/// </summary>
public static class TokenizerLoader
{
    /// <summary><paramref name="path"/>: a tokenizer folder, or a pipeline folder (its <c>tokenizer/</c> is used).</summary>
    public static IPromptTokenizer Load(string path)
    {
        if (PipelineFolder.IsPipeline(path)) path = PipelineFolder.Open(path).ComponentPath("tokenizer");
        if (!Directory.Exists(path)) throw new VDiTLensException($"{path}: tokenizer folder not found");
        if (File.Exists(Path.Combine(path, UnigramTokenizer.SentencePieceFileName)) || File.Exists(Path.Combine(path, UnigramTokenizer.TokenizerJsonFileName)))
            return UnigramTokenizer.FromFolder(path);
        if (File.Exists(Path.Combine(path, WordLevelTokenizer.FileName)))
            return WordLevelTokenizer.FromFile(Path.Combine(path, WordLevelTokenizer.FileName));
        throw new VDiTLensException(
            $"{path}: no {UnigramTokenizer.SentencePieceFileName}, {UnigramTokenizer.TokenizerJsonFileName} or {WordLevelTokenizer.FileName}; " +
            "a tokenizer folder needs one of them");
    }
}
