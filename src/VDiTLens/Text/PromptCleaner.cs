using System.Net;
using System.Text;

namespace VDiTLens.Text;

/// <summary>
/// diffusers' <c>prompt_clean</c> (Wan, and others): HTML entities unescaped twice, runs of whitespace collapsed
/// to one space, leading/trailing whitespace stripped. (diffusers also runs ftfy when it is installed; it was not
/// for the reference fixtures, and is not reproduced here.)
/// </summary>
public static class PromptCleaner
{
    public static string Clean(string text)
    {
        string unescaped = WebUtility.HtmlDecode(WebUtility.HtmlDecode(text));
        var builder = new StringBuilder(unescaped.Length);
        bool inWhitespace = false;
        foreach (char c in unescaped.Trim(PythonWhitespace))
        {
            if (IsPythonWhitespace(c))
            {
                if (!inWhitespace) builder.Append(' ');
                inWhitespace = true;
            }
            else
            {
                builder.Append(c);
                inWhitespace = false;
            }
        }
        return builder.ToString();
    }

    // Python's str.isspace / re's \s also count the information separators U+001C..U+001F, which .NET does not.
    private static bool IsPythonWhitespace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';

    private static readonly char[] PythonWhitespace = Enumerable.Range(0, 0x10000).Select(i => (char)i).Where(IsPythonWhitespace).ToArray();
}
