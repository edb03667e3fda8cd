using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace VDiTLens.Text.Bpe;

/// <summary>
/// A .NET regular expression matched as if it ran over Unicode code points (as the Rust regex engines of
/// Hugging Face tokenizers do). .NET sees a character outside the Basic Multilingual Plane as two surrogates, so
/// <c>\p{L}</c> would not match 𝒜; here each such character is replaced, for matching only, by a BMP character of
/// the same Unicode category that the pattern does not name literally, and the matches are mapped back.
/// </summary>
public sealed class CodePointRegex
{
    private readonly Regex _regex;
    private readonly Dictionary<UnicodeCategory, char> _standIns = new();

    public string Pattern { get; }

    public CodePointRegex(string pattern)
    {
        Pattern = pattern;
        _regex = new Regex(pattern, RegexOptions.CultureInvariant);
    }

    /// <summary>Start and length (in UTF-16 units of <paramref name="text"/>) of every match, left to right.</summary>
    public IReadOnlyList<(int Start, int Length)> Matches(string text)
    {
        var result = new List<(int, int)>();
        if (!text.Any(char.IsSurrogate))
        {
            foreach (Match m in _regex.Matches(text)) result.Add((m.Index, m.Length));
            return result;
        }
        var proxy = new StringBuilder(text.Length);
        var origin = new List<int>(text.Length + 1); // proxy index → index in text
        for (int i = 0; i < text.Length;)
        {
            origin.Add(i);
            if (Rune.TryGetRuneAt(text, i, out var rune) && !rune.IsBmp)
            {
                proxy.Append(StandIn(Rune.GetUnicodeCategory(rune)));
                i += 2;
            }
            else
            {
                proxy.Append(text[i]);
                i += 1;
            }
        }
        origin.Add(text.Length);
        foreach (Match m in _regex.Matches(proxy.ToString()))
        {
            int start = origin[m.Index];
            result.Add((start, origin[m.Index + m.Length] - start));
        }
        return result;
    }

    private char StandIn(UnicodeCategory category)
    {
        if (_standIns.TryGetValue(category, out char c)) return c;
        for (int code = 0xA0; code <= 0xFFFF; code++)
        {
            char candidate = (char)code;
            if (char.IsSurrogate(candidate) || CharUnicodeInfo.GetUnicodeCategory(candidate) != category) continue;
            if (Pattern.Contains(candidate)) continue;
            return _standIns[category] = candidate;
        }
        return _standIns[category] = '\uE000'; // no BMP character of that category: a private-use one
    }
}
