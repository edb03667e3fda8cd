using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace VDiTLens.Cli.Options;

/// <summary>
/// Comma-list options (<c>--seeds 0,1,2</c>) parsed at parse time into <c>T[]</c>; a bad item is a parse error that
/// names the option and the item.
/// </summary>
internal static class ListOption
{
    public delegate bool TryParse<T>(string text, out T value);

    public static Option<T[]> Of<T>(string name, TryParse<T> parse, string what, string description, T[]? defaults = null, params string[] aliases)
    {
        var option = new Option<T[]>(name, aliases)
        {
            Description = description,
            CustomParser = result => Parse(result, name, parse, what),
        };
        if (defaults is not null) option.DefaultValueFactory = _ => defaults;
        return option;
    }

    public static Option<long[]> Longs(string name, string description, long[]? defaults = null, params string[] aliases) =>
        Of(name, (string s, out long v) => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out v), "an integer", description, defaults, aliases);

    public static Option<int[]> Ints(string name, string description, int[]? defaults = null, params string[] aliases) =>
        Of(name, (string s, out int v) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out v), "an integer", description, defaults, aliases);

    public static Option<double[]> Doubles(string name, string description, double[]? defaults = null, params string[] aliases) =>
        Of(name, (string s, out double v) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out v), "a number", description, defaults, aliases);

    public static Option<string[]> Strings(string name, string description, string[]? defaults = null, params string[] aliases) =>
        Of(name, (string s, out string v) => { v = s; return true; }, "a name", description, defaults, aliases);

    private static T[] Parse<T>(ArgumentResult result, string name, TryParse<T> parse, string what)
    {
        var items = result.Tokens
            .SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
        var values = new T[items.Length];
        for (int i = 0; i < items.Length; i++)
            if (!parse(items[i], out values[i]))
            {
                result.AddError($"{name}: '{items[i]}' is not {what}");
                return Array.Empty<T>();
            }
        return values;
    }
}
