namespace VDiTLens.Schedulers;

/// <summary>numpy's float64 <c>linspace</c>/<c>arange</c>, reproduced operation by operation so schedules match bit for bit.</summary>
internal static class NumpyCompat
{
    /// <summary><c>np.linspace(start, stop, num)</c>: <c>i * step + start</c>, last value set to <c>stop</c>.</summary>
    public static double[] Linspace(double start, double stop, int num)
    {
        var y = new double[num];
        int div = num - 1;
        double delta = stop - start;
        double step = div > 0 ? delta / div : double.NaN;
        for (int i = 0; i < num; i++)
        {
            if (div <= 0) y[i] = i * delta + start;
            else if (step == 0) y[i] = (double)i / div * delta + start;
            else y[i] = i * step + start;
        }
        if (num > 1) y[num - 1] = stop;
        return y;
    }

    /// <summary><c>np.arange(start, stop, step)</c> for floats: length <c>ceil((stop-start)/step)</c>, values <c>start + i*((start+step)-start)</c>.</summary>
    public static double[] Arange(double start, double stop, double step)
    {
        long length = (long)Math.Ceiling((stop - start) / step);
        if (length <= 0) return [];
        var y = new double[length];
        y[0] = start;
        if (length > 1) y[1] = start + step;
        double delta = (start + step) - start;
        for (long i = 2; i < length; i++) y[i] = start + i * delta;
        return y;
    }

    /// <summary><c>np.round</c> (half to even) then <c>astype(int64)</c>.</summary>
    public static long[] RoundToInt64(IEnumerable<double> values) =>
        values.Select(v => (long)Math.Round(v, MidpointRounding.ToEven)).ToArray();
}
