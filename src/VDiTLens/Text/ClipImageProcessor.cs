using System.Text.Json.Nodes;
using TorchSharp;
using VDiTLens.Models.Common;
using static TorchSharp.torch;

namespace VDiTLens.Text;

/// <summary>
/// transformers' <c>CLIPImageProcessor</c> (a pipeline's <c>image_processor</c>, preprocessor_config.json, same field
/// names) on an 8-bit RGB image: resize so the shortest edge is <c>size.shortest_edge</c> (Pillow's filter,
/// <see cref="PilResample"/>), centre crop to <c>crop_size</c>, rescale by <c>rescale_factor</c>, normalise by
/// <c>image_mean</c> / <c>image_std</c>. The images it is given as float [0, 1] are first rounded to 8-bit levels, which
/// is what they are when they came from an 8-bit picture, as diffusers' users pass them (PIL images).
/// </summary>
public sealed record ClipImageProcessor
{
    public bool do_resize { get; init; } = true;
    /// <summary><c>size.shortest_edge</c>; null when <c>size</c> gives height and width (<see cref="ResizeHeight"/>, <see cref="ResizeWidth"/>).</summary>
    public int? shortest_edge { get; init; } = 224;
    public int? ResizeHeight { get; init; }
    public int? ResizeWidth { get; init; }
    public int resample { get; init; } = PilResample.Bicubic;
    public bool do_center_crop { get; init; } = true;
    public int crop_height { get; init; } = 224;
    public int crop_width { get; init; } = 224;
    public bool do_rescale { get; init; } = true;
    public double rescale_factor { get; init; } = 1.0 / 255;
    public bool do_normalize { get; init; } = true;
    public double[] image_mean { get; init; } = { 0.48145466, 0.4578275, 0.40821073 };
    public double[] image_std { get; init; } = { 0.26862954, 0.26130258, 0.27577711 };

    public const string FileName = "preprocessor_config.json";

    public static ClipImageProcessor Read(string folder)
    {
        string file = Path.Combine(folder, FileName);
        if (!File.Exists(file))
            throw new VDiTLensException($"{file} not found: an image_processor folder holds the CLIPImageProcessor's {FileName}");
        var json = JsonNode.Parse(File.ReadAllText(file)) as JsonObject
            ?? throw new VDiTLensException($"{file}: not a JSON object");
        var r = new ConfigReader(json, file);
        var d = new ClipImageProcessor();
        int? shortest = null, height = null, width = null;
        if (json["size"] is JsonObject size)
        {
            shortest = size["shortest_edge"]?.GetValue<int>();
            height = size["height"]?.GetValue<int>();
            width = size["width"]?.GetValue<int>();
            if (shortest is null && (height is null || width is null))
                throw new VDiTLensException($"{file}: field 'size' must hold shortest_edge, or height and width");
        }
        else if (json["size"] is JsonValue v)
            shortest = v.GetValue<int>();
        else
            shortest = d.shortest_edge;
        int cropHeight = d.crop_height, cropWidth = d.crop_width;
        if (json["crop_size"] is JsonObject crop)
        {
            cropHeight = crop["height"]?.GetValue<int>() ?? throw new VDiTLensException($"{file}: field 'crop_size' needs height and width");
            cropWidth = crop["width"]?.GetValue<int>() ?? throw new VDiTLensException($"{file}: field 'crop_size' needs height and width");
        }
        else if (json["crop_size"] is JsonValue c)
            cropHeight = cropWidth = c.GetValue<int>();
        var p = new ClipImageProcessor
        {
            do_resize = r.Get("do_resize", d.do_resize),
            shortest_edge = shortest,
            ResizeHeight = shortest is null ? height : null,
            ResizeWidth = shortest is null ? width : null,
            resample = r.Get("resample", d.resample),
            do_center_crop = r.Get("do_center_crop", d.do_center_crop),
            crop_height = cropHeight,
            crop_width = cropWidth,
            do_rescale = r.Get("do_rescale", d.do_rescale),
            rescale_factor = r.Get("rescale_factor", d.rescale_factor),
            do_normalize = r.Get("do_normalize", d.do_normalize),
            image_mean = r.Get("image_mean", d.image_mean),
            image_std = r.Get("image_std", d.image_std),
        };
        if (p.do_resize && !PilResample.Supports(p.resample))
            throw new VDiTLensException($"{file}: field 'resample' = {p.resample} is not supported (use {PilResample.Lanczos} lanczos, {PilResample.Bilinear} bilinear or {PilResample.Bicubic} bicubic)");
        if (p.image_mean.Length != 3 || p.image_std.Length != 3 || p.image_std.Any(s => s == 0))
            throw new VDiTLensException($"{file}: fields 'image_mean' and 'image_std' need 3 values each (RGB), std nonzero");
        return p;
    }

    /// <summary>
    /// transformers' resize target for one image of <paramref name="height"/> × <paramref name="width"/>: the shortest
    /// edge to <see cref="shortest_edge"/>, the other scaled and truncated (get_resize_output_image_size), or the fixed size.
    /// </summary>
    public (int Height, int Width) ResizeTarget(int height, int width)
    {
        if (shortest_edge is not { } edge) return (ResizeHeight!.Value, ResizeWidth!.Value);
        bool portrait = width <= height;
        int shortSide = portrait ? width : height, longSide = portrait ? height : width;
        int newLong = (int)((double)edge * longSide / shortSide);
        return portrait ? (newLong, edge) : (edge, newLong);
    }

    /// <param name="images">[B, 3, H, W] RGB in [0, 1] (values below 0 mean [−1, 1], as the pipelines take images).</param>
    /// <returns>pixel_values [B, 3, crop_height, crop_width] float32 on the CPU.</returns>
    public Tensor Preprocess(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new VDiTLensException($"the image processor takes RGB images [batch, 3, height, width]; got [{string.Join(", ", images.shape)}]");
        using var scope = torch.NewDisposeScope();
        var x = images.to(ScalarType.Float64).cpu();
        if (x.min().item<double>() < 0) x = (x + 1) / 2;
        var levels = (x.clamp(0, 1) * 255).round().to(ScalarType.Byte).contiguous();
        int height = (int)images.shape[2], width = (int)images.shape[3];
        var (outHeight, outWidth) = do_resize ? ResizeTarget(height, width) : (height, width);
        if (do_center_crop && (crop_height > outHeight || crop_width > outWidth))
            throw new VDiTLensException($"the image ({height} × {width}, resized to {outHeight} × {outWidth}) is smaller than crop_size {crop_height} × {crop_width}");
        int top = do_center_crop ? (outHeight - crop_height) / 2 : 0, left = do_center_crop ? (outWidth - crop_width) / 2 : 0;
        int finalHeight = do_center_crop ? crop_height : outHeight, finalWidth = do_center_crop ? crop_width : outWidth;
        long batch = images.shape[0];
        var values = levels.data<byte>().ToArray();
        var output = new float[batch * 3 * finalHeight * finalWidth];
        for (long b = 0; b < batch; b++)
            for (int c = 0; c < 3; c++)
            {
                var plane = new byte[height * width];
                Array.Copy(values, (b * 3 + c) * height * width, plane, 0, plane.Length);
                var resized = outHeight == height && outWidth == width ? plane : PilResample.Resize(plane, height, width, outHeight, outWidth, resample);
                for (int y = 0; y < finalHeight; y++)
                    for (int xx = 0; xx < finalWidth; xx++)
                    {
                        double v = resized[(y + top) * outWidth + xx + left];
                        if (do_rescale) v = (float)(v * rescale_factor);
                        if (do_normalize) v = ((float)v - (float)image_mean[c]) / (float)image_std[c];
                        output[((b * 3 + c) * finalHeight + y) * finalWidth + xx] = (float)v;
                    }
            }
        return torch.tensor(output, new[] { batch, 3L, finalHeight, finalWidth }).MoveToOuterDisposeScope();
    }
}
