namespace VDiTLens.Text;

/// <summary>SentencePiece's piece types (ModelProto.SentencePiece.Type).</summary>
public enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

public sealed record SentencePiece(string Piece, float Score, PieceType Type);

/// <summary>The parts of TrainerSpec that encoding depends on (defaults as in sentencepiece_model.proto).</summary>
public sealed record TrainerSpec(
    int ModelType = 1,
    int UnkId = 0,
    int BosId = 1,
    int EosId = 2,
    int PadId = -1,
    bool ByteFallback = false,
    bool TreatWhitespaceAsSuffix = false);

/// <summary>NormalizerSpec (defaults as in sentencepiece_model.proto).</summary>
public sealed record NormalizerSpec(
    string Name = "",
    byte[]? PrecompiledCharsmap = null,
    bool AddDummyPrefix = true,
    bool RemoveExtraWhitespaces = true,
    bool EscapeWhitespaces = true);

/// <summary>A SentencePiece <c>ModelProto</c> (the <c>spiece.model</c> file), reduced to what a unigram encoder needs.</summary>
public sealed record SentencePieceModel(IReadOnlyList<SentencePiece> Pieces, TrainerSpec Trainer, NormalizerSpec Normalizer)
{
    public const int UnigramModelType = 1;

    public static SentencePieceModel Read(string file)
    {
        if (!File.Exists(file)) throw new VDiTLensException($"{file}: file not found");
        return Parse(File.ReadAllBytes(file), file);
    }

    public static SentencePieceModel Parse(ReadOnlySpan<byte> data, string what)
    {
        var pieces = new List<SentencePiece>();
        var trainer = new TrainerSpec();
        var normalizer = new NormalizerSpec();
        var reader = new ProtobufReader(data, what);
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadKey();
            switch (field, wire)
            {
                case (1, 2): pieces.Add(ParsePiece(reader.ReadBytes(), what, pieces.Count)); break;
                case (2, 2): trainer = ParseTrainer(reader.ReadBytes(), what); break;
                case (3, 2): normalizer = ParseNormalizer(reader.ReadBytes(), what); break;
                default: reader.Skip(wire); break;
            }
        }
        if (pieces.Count == 0) throw new VDiTLensException($"{what}: no pieces; not a SentencePiece model");
        return new SentencePieceModel(pieces, trainer, normalizer);
    }

    private static SentencePiece ParsePiece(ReadOnlySpan<byte> data, string what, int index)
    {
        string? piece = null;
        float score = 0;
        var type = PieceType.Normal;
        var reader = new ProtobufReader(data, what);
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadKey();
            switch (field, wire)
            {
                case (1, 2): piece = reader.ReadString(); break;
                case (2, 5): score = reader.ReadFloat(); break;
                case (3, 0): type = (PieceType)reader.ReadInt32(); break;
                default: reader.Skip(wire); break;
            }
        }
        return new SentencePiece(piece ?? throw new VDiTLensException($"{what}: piece {index} has no text"), score, type);
    }

    private static TrainerSpec ParseTrainer(ReadOnlySpan<byte> data, string what)
    {
        var spec = new TrainerSpec();
        var reader = new ProtobufReader(data, what);
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadKey();
            switch (field, wire)
            {
                case (3, 0): spec = spec with { ModelType = reader.ReadInt32() }; break;
                case (24, 0): spec = spec with { TreatWhitespaceAsSuffix = reader.ReadBool() }; break;
                case (35, 0): spec = spec with { ByteFallback = reader.ReadBool() }; break;
                case (40, 0): spec = spec with { UnkId = reader.ReadInt32() }; break;
                case (41, 0): spec = spec with { BosId = reader.ReadInt32() }; break;
                case (42, 0): spec = spec with { EosId = reader.ReadInt32() }; break;
                case (43, 0): spec = spec with { PadId = reader.ReadInt32() }; break;
                default: reader.Skip(wire); break;
            }
        }
        return spec;
    }

    private static NormalizerSpec ParseNormalizer(ReadOnlySpan<byte> data, string what)
    {
        var spec = new NormalizerSpec();
        var reader = new ProtobufReader(data, what);
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadKey();
            switch (field, wire)
            {
                case (1, 2): spec = spec with { Name = reader.ReadString() }; break;
                case (2, 2): spec = spec with { PrecompiledCharsmap = reader.ReadBytes().ToArray() }; break;
                case (3, 0): spec = spec with { AddDummyPrefix = reader.ReadBool() }; break;
                case (4, 0): spec = spec with { RemoveExtraWhitespaces = reader.ReadBool() }; break;
                case (5, 0): spec = spec with { EscapeWhitespaces = reader.ReadBool() }; break;
                default: reader.Skip(wire); break;
            }
        }
        return spec;
    }
}
