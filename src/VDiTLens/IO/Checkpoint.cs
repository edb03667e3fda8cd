namespace VDiTLens.IO;

/// <summary>Opens the weights at a path: a .safetensors file, an index.json, or a folder holding either.</summary>
public static class Checkpoint
{
    private static readonly string[] WeightFileNames =
    {
        "diffusion_pytorch_model.safetensors", "model.safetensors",
    };

    public static ITensorSource Open(string path)
    {
        if (File.Exists(path))
            return path.EndsWith(".index.json", StringComparison.Ordinal)
                ? ShardedCheckpoint.Open(path)
                : SafeTensorsFile.Open(path);
        if (!Directory.Exists(path))
            throw new VDiTLensException($"{path}: no such file or folder");
        foreach (var name in WeightFileNames)
        {
            string index = Path.Combine(path, name + ".index.json");
            if (File.Exists(index)) return ShardedCheckpoint.Open(index);
            string single = Path.Combine(path, name);
            if (File.Exists(single)) return SafeTensorsFile.Open(single);
        }
        var others = Directory.GetFiles(path, "*.safetensors.index.json");
        if (others.Length == 1) return ShardedCheckpoint.Open(others[0]);
        var files = Directory.GetFiles(path, "*.safetensors");
        if (files.Length == 1) return SafeTensorsFile.Open(files[0]);
        throw new VDiTLensException(
            $"{path}: no weights found (expected diffusion_pytorch_model.safetensors, model.safetensors or a *.safetensors.index.json)");
    }
}
