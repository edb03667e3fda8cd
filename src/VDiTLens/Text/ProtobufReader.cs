namespace VDiTLens.Text;

/// <summary>
/// Reads the protobuf wire format field by field (just what a SentencePiece ModelProto needs: varints,
/// fixed32 floats and length-delimited strings/messages). Unknown fields are skipped by wire type.
/// </summary>
internal ref struct ProtobufReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly string _what;
    private int _position;

    public ProtobufReader(ReadOnlySpan<byte> data, string what)
    {
        _data = data;
        _what = what;
        _position = 0;
    }

    public bool AtEnd => _position >= _data.Length;

    /// <summary>Reads the next field key: (field number, wire type).</summary>
    public (int Field, int WireType) ReadKey()
    {
        ulong key = ReadVarint();
        return ((int)(key >> 3), (int)(key & 7));
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _data.Length) throw Truncated();
            byte b = _data[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw new VDiTLensException($"{_what}: malformed protobuf varint at byte {_position}");
    }

    /// <summary>An int32 field (negative values are sign-extended 10-byte varints).</summary>
    public int ReadInt32() => unchecked((int)ReadVarint());

    public bool ReadBool() => ReadVarint() != 0;

    public float ReadFloat()
    {
        if (_position + 4 > _data.Length) throw Truncated();
        float value = BitConverter.ToSingle(_data.Slice(_position, 4));
        _position += 4;
        return value;
    }

    public ReadOnlySpan<byte> ReadBytes()
    {
        ulong length = ReadVarint();
        if (length > (ulong)(_data.Length - _position)) throw Truncated();
        var slice = _data.Slice(_position, (int)length);
        _position += (int)length;
        return slice;
    }

    public string ReadString() => System.Text.Encoding.UTF8.GetString(ReadBytes());

    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case 0: ReadVarint(); break;
            case 1: Advance(8); break;
            case 2: ReadBytes(); break;
            case 5: Advance(4); break;
            default: throw new VDiTLensException($"{_what}: unsupported protobuf wire type {wireType} at byte {_position}; the file is not a SentencePiece model");
        }
    }

    private void Advance(int count)
    {
        if (_position + count > _data.Length) throw Truncated();
        _position += count;
    }

    private VDiTLensException Truncated() => new($"{_what}: truncated protobuf data at byte {_position}; the file is damaged or not a SentencePiece model");
}
