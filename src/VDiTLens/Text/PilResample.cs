namespace VDiTLens.Text;

/// <summary>
/// Pillow's <c>Image.resize</c> for 8-bit images (its Resample.c): separable convolution, horizontal pass first, the
/// filter widened by the scale when shrinking (antialiasing), coefficients normalised and turned into 22-bit fixed
/// point, and each pass rounded and clipped to 8 bits. transformers' CLIP image processor resizes through it, so the
/// same bytes come out here. A size equal to the input's returns the input, as Pillow does.
/// </summary>
public static class PilResample
{
    /// <summary>Pillow's filter numbers, as image processors' <c>resample</c> field holds them.</summary>
    public const int Lanczos = 1, Bilinear = 2, Bicubic = 3;

    private const int PrecisionBits = 32 - 8 - 2;

    public static bool Supports(int filter) => filter is Lanczos or Bilinear or Bicubic;

    /// <summary>Resizes one 8-bit plane [height, width] (row-major) to [outHeight, outWidth].</summary>
    public static byte[] Resize(byte[] plane, int height, int width, int outHeight, int outWidth, int filter)
    {
        if (!Supports(filter))
            throw new VDiTLensException($"resample = {filter} is not supported (use {Lanczos} lanczos, {Bilinear} bilinear or {Bicubic} bicubic)");
        if (plane.Length != height * width)
            throw new ArgumentException($"plane has {plane.Length} values, not {height} × {width}", nameof(plane));
        var (vBounds, vWeights, vSize) = Coefficients(height, outHeight, filter);
        int first = vBounds[0], last = vBounds[2 * (outHeight - 1)] + vBounds[2 * outHeight - 1];
        byte[] source = plane;
        int rows = height, rowOffset = 0;
        if (outWidth != width)
        {
            // only the rows the vertical pass reads are resampled horizontally
            var (hBounds, hWeights, hSize) = Coefficients(width, outWidth, filter);
            rows = last - first;
            source = new byte[rows * outWidth];
            for (int y = 0; y < rows; y++)
                for (int x = 0; x < outWidth; x++)
                {
                    long sum = 1L << (PrecisionBits - 1);
                    int min = hBounds[2 * x], count = hBounds[2 * x + 1];
                    for (int k = 0; k < count; k++)
                        sum += plane[(y + first) * width + min + k] * (long)hWeights[x * hSize + k];
                    source[y * outWidth + x] = Clip(sum);
                }
            rowOffset = first;
        }
        if (outHeight == height) return source;
        var output = new byte[outHeight * outWidth];
        for (int y = 0; y < outHeight; y++)
        {
            int min = vBounds[2 * y] - rowOffset, count = vBounds[2 * y + 1];
            for (int x = 0; x < outWidth; x++)
            {
                long sum = 1L << (PrecisionBits - 1);
                for (int k = 0; k < count; k++)
                    sum += source[(min + k) * outWidth + x] * (long)vWeights[y * vSize + k];
                output[y * outWidth + x] = Clip(sum);
            }
        }
        return output;
    }

    private static byte Clip(long sum)
    {
        long value = sum >> PrecisionBits;
        return value <= 0 ? (byte)0 : value >= 255 ? (byte)255 : (byte)value;
    }

    /// <summary>precompute_coeffs + normalize_coeffs_8bpc: per output pixel its first input pixel, count and fixed-point weights.</summary>
    private static (int[] Bounds, int[] Weights, int Size) Coefficients(int inSize, int outSize, int filter)
    {
        double support = filter switch { Bilinear => 1.0, Bicubic => 2.0, _ => 3.0 };
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        support *= filterScale;
        int size = (int)Math.Ceiling(support) * 2 + 1;
        var bounds = new int[2 * outSize];
        var weights = new int[outSize * size];
        var w = new double[size];
        for (int i = 0; i < outSize; i++)
        {
            double center = (i + 0.5) * scale;
            double total = 0;
            double ss = 1.0 / filterScale;
            int min = Math.Max(0, (int)(center - support + 0.5));
            int max = Math.Min(inSize, (int)(center + support + 0.5)) - min;
            for (int k = 0; k < max; k++)
            {
                w[k] = Filter(filter, (k + min - center + 0.5) * ss);
                total += w[k];
            }
            for (int k = 0; k < max; k++)
            {
                double normalised = total != 0.0 ? w[k] / total : w[k];
                weights[i * size + k] = normalised < 0
                    ? (int)(-0.5 + normalised * (1 << PrecisionBits))
                    : (int)(0.5 + normalised * (1 << PrecisionBits));
            }
            bounds[2 * i] = min;
            bounds[2 * i + 1] = max;
        }
        return (bounds, weights, size);
    }

    private static double Filter(int filter, double x) => filter switch
    {
        Bilinear => Math.Abs(x) < 1.0 ? 1.0 - Math.Abs(x) : 0.0,
        Bicubic => Cubic(Math.Abs(x)),
        _ => x >= -3.0 && x < 3.0 ? Sinc(x) * Sinc(x / 3.0) : 0.0,
    };

    private static double Cubic(double x)
    {
        const double a = -0.5;
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    private static double Sinc(double x)
    {
        if (x == 0.0) return 1.0;
        x *= Math.PI;
        return Math.Sin(x) / x;
    }
}
