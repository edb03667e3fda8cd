using VDiTLens.IO;
using VDiTLens.Runtime;

namespace VDiTLens.Tests.IO;

/// <summary>One test per class of damage: each must end in a VDiTLensException naming the file (and the tensor).</summary>
public sealed class SafeTensorsDamageTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("vditlens-damage-").FullName;

    public SafeTensorsDamageTests() => TorchRuntime.Initialise();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private VDiTLensException Refused(string damage)
    {
        var d = DamagedFiles.Get(damage);
        string path = Path.Combine(_folder, d.Name + ".safetensors");
        File.WriteAllBytes(path, d.Bytes);
        var e = Assert.Throws<VDiTLensException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(d.MessageFragment, e.Message);
        if (d.Tensor is not null) Assert.Contains($"'{d.Tensor}'", e.Message);
        return e;
    }

    [Fact] public void Header_length_past_the_end_of_the_file() => Refused("header-length-past-end");
    [Fact] public void Header_length_of_2_to_the_64_minus_1() => Refused("header-length-huge");
    [Fact] public void File_shorter_than_8_bytes() => Refused("shorter-than-8-bytes");
    [Fact] public void Empty_file() => Refused("empty-file");
    [Fact] public void Invalid_json() => Refused("invalid-json");
    [Fact] public void Header_that_is_not_a_json_object() => Refused("header-not-object");
    [Fact] public void Header_that_is_not_utf8() => Refused("non-utf8-header");
    [Fact] public void Offsets_out_of_range() => Refused("offsets-out-of-range");
    [Fact] public void Offsets_in_reverse_order() => Refused("offsets-reversed");
    [Fact] public void Offsets_that_are_not_numbers() => Refused("offsets-not-numbers");
    [Fact] public void Offsets_that_are_not_a_pair() => Refused("offsets-not-a-pair");
    [Fact] public void Overlapping_tensors() => Refused("overlapping-tensors");
    [Fact] public void Gap_between_tensors() => Refused("gap-between-tensors");
    [Fact] public void Trailing_unindexed_bytes() => Refused("trailing-unindexed-bytes");
    [Fact] public void Shape_times_dtype_size_differs_from_byte_span() => Refused("shape-size-mismatch");
    [Fact] public void Negative_dimension() => Refused("negative-dim");
    [Fact] public void Non_integer_dimension() => Refused("non-integer-dim");
    [Fact] public void Dimension_beyond_int64() => Refused("dim-beyond-int64");
    [Fact] public void Dimensions_whose_product_overflows_int64() => Refused("dims-overflow-int64");
    [Fact] public void Empty_tensor_whose_other_dimensions_overflow_int64() => Refused("zero-dim-with-overflowing-dims");
    [Fact] public void Unknown_dtype() => Refused("unknown-dtype");
    [Fact] public void Duplicate_tensor_names() => Refused("duplicate-tensor-names");
    [Fact] public void Duplicate_key_inside_a_tensor_entry() => Refused("duplicate-key-in-entry");
    [Fact] public void Duplicate_metadata_key() => Refused("duplicate-metadata-key");
    [Fact] public void Metadata_values_that_are_not_strings() => Refused("metadata-not-strings");

    [Fact]
    public void Header_over_the_size_cap_is_refused_before_it_is_read()
    {
        // A sparse file large enough that the length field is inside it, but above the 100 MB cap.
        string path = Path.Combine(_folder, "big-header.safetensors");
        using (var stream = File.Create(path))
        {
            stream.Write(BitConverter.GetBytes((ulong)SafeTensorsHeader.MaxHeaderBytes + 1));
            stream.SetLength(SafeTensorsHeader.MaxHeaderBytes + 64);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<VDiTLensException>(() => SafeTensorsFile.Open(path).Dispose());
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("exceeds the", e.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes while refusing the header");
    }

    [Fact]
    public void Missing_file_is_named()
    {
        string path = Path.Combine(_folder, "absent.safetensors");
        var e = Assert.Throws<VDiTLensException>(() => SafeTensorsFile.Open(path));
        Assert.Equal($"{path}: file not found", e.Message);
    }

    [Fact]
    public void Asking_for_an_absent_tensor_names_file_and_tensor()
    {
        string path = Path.Combine(_folder, "valid.safetensors");
        File.WriteAllBytes(path, DamagedFiles.Build(DamagedFiles.ValidHeader, DamagedFiles.Data(11)));
        using var file = SafeTensorsFile.Open(path);
        var e = Assert.Throws<VDiTLensException>(() => file.Load("c"));
        Assert.Equal($"{path}: no tensor named 'c'", e.Message);
    }
}
