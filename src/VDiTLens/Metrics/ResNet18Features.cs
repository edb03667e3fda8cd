using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using TorchSharp;
using static TorchSharp.torch;

namespace VDiTLens.Metrics;

/// <summary>
/// 512-d image features from the ImageNet-trained ResNet18 of the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18
/// 0.24.0 (a CNTK export run through ONNX Runtime on the CPU): the output of its global average pool
/// (<c>Pooling395_Output_0</c>). Input preparation follows ML.NET's DnnImageFeaturizer: the frame is centre-cropped to a
/// square and resized to 224 × 224 (ML.NET's default iso-crop; bilinear with antialiasing here), scaled to 0–255, laid
/// out planar, and the package's preprocessing graph subtracts its 224 × 224 ImageNet mean image. That mean image's
/// channel means are 103.1, 115.9 and 123.2, the ImageNet means in B, G, R order, so channels are fed as B, G, R.
/// The network is not LPIPS's (no learned calibration layers) and not an I3D video network.
/// </summary>
public sealed class ResNet18Features : IDisposable
{
    public const int Dimension = 512;
    public const int InputSide = 224;
    public const string Package = "Microsoft.ML.DnnImageFeaturizer.ResNet18";
    public const string PackageVersion = "0.24.0";
    private const string ModelFile = "DnnImageModels/ResNet18Onnx/ResNet18.onnx";
    private const string PreprocessFile = "DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx";

    private readonly InferenceSession _preprocess;
    private readonly InferenceSession _network;

    private ResNet18Features(string folder)
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        _preprocess = new InferenceSession(Path.Combine(folder, PreprocessFile), options);
        _network = new InferenceSession(Path.Combine(folder, ModelFile), options);
    }

    /// <summary>Loads the two ONNX files from <paramref name="folder"/> (holding DnnImageModels/), else next to this assembly, else the NuGet cache.</summary>
    public static ResNet18Features Load(string? folder = null) => new(ModelFolder(folder));

    /// <summary>The folder that holds DnnImageModels/ResNet18Onnx/ResNet18.onnx; throws naming the package when none does.</summary>
    public static string ModelFolder(string? folder = null)
    {
        if (folder is not null)
            return File.Exists(Path.Combine(folder, ModelFile)) ? folder
                : throw new VDiTLensException($"{ModelFile} not found under {folder}; point it at the tools folder of the NuGet package {Package} {PackageVersion}");
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var candidates = new[]
        {
            Path.GetDirectoryName(typeof(ResNet18Features).Assembly.Location) ?? AppContext.BaseDirectory,
            AppContext.BaseDirectory,
            Path.Combine(packages, Package.ToLowerInvariant(), PackageVersion, "tools"),
        };
        return candidates.FirstOrDefault(c => File.Exists(Path.Combine(c, ModelFile)))
            ?? throw new VDiTLensException($"ResNet18.onnx not found next to the assembly nor in the NuGet cache; restore the NuGet package {Package} {PackageVersion} (building VDiTLens downloads it)");
    }

    /// <summary>Features [N, 512] (float64) of frames [N, H, W, 3] with values in [0, 1].</summary>
    public Tensor Of(Tensor frames)
    {
        if (frames.dim() != 4 || frames.shape[3] != 3 || frames.shape[0] == 0)
            throw new VDiTLensException($"ResNet18 features need frames [N, H, W, 3] with N ≥ 1; got [{string.Join(", ", frames.shape)}]");
        using var scope = torch.NewDisposeScope();
        var input = NetworkInput(frames);
        long n = input.shape[0];
        var result = new double[n * Dimension];
        var dims = new[] { 1, 3, InputSide, InputSide };
        for (long i = 0; i < n; i++)
        {
            var pixels = input[i].contiguous().data<float>().ToArray();
            using var prepared = _preprocess.Run(new[] { NamedOnnxValue.CreateFromTensor(_preprocess.InputMetadata.Keys.Single(), new DenseTensor(pixels, dims)) });
            var centred = prepared.Single().AsTensor<float>();
            using var output = _network.Run(new[] { NamedOnnxValue.CreateFromTensor(_network.InputMetadata.Keys.Single(), centred) });
            var features = output.Single().AsEnumerable<float>().ToArray();
            if (features.Length != Dimension) throw new VDiTLensException($"ResNet18 returned {features.Length} features, expected {Dimension}; the ONNX file is not the package's");
            for (int k = 0; k < Dimension; k++) result[i * Dimension + k] = features[k];
        }
        return torch.tensor(result, new[] { n, (long)Dimension }, ScalarType.Float64).MoveToOuterDisposeScope();
    }

    /// <summary>Frames [N, H, W, 3] in [0, 1] → [N, 3, 224, 224] float32 on 0–255, B, G, R planes, centre square resized.</summary>
    internal static Tensor NetworkInput(Tensor frames)
    {
        var x = frames.detach().cpu().to(ScalarType.Float32).clamp(0, 1).permute(0, 3, 1, 2); // [N, 3, H, W] RGB
        long h = x.shape[2], w = x.shape[3], side = Math.Min(h, w);
        x = x.narrow(2, (h - side) / 2, side).narrow(3, (w - side) / 2, side);
        if (side != InputSide)
            x = nn.functional.interpolate(x, size: new long[] { InputSide, InputSide }, mode: InterpolationMode.Bilinear, align_corners: false, antialias: side > InputSide);
        return (x.flip(1) * 255).contiguous();
    }

    public void Dispose()
    {
        _preprocess.Dispose();
        _network.Dispose();
    }
}
