namespace VDiTLens.Pipelines;

/// <summary>
/// HunyuanVideoPipeline's <c>prompt_template</c>: the text the prompt is put into before the Llama encoder sees it,
/// and <c>crop_start</c>, the number of leading tokens (the system part of the template) dropped from the
/// embeddings and the mask afterwards. The prompt may be followed by template text; diffusers keeps it.
/// </summary>
public sealed record HunyuanVideoPromptTemplate(string Template, int CropStart)
{
    /// <summary>diffusers' DEFAULT_PROMPT_TEMPLATE (crop_start 95: the template up to the prompt is 95 Llama 3 tokens).</summary>
    public static readonly HunyuanVideoPromptTemplate Default = new(
        "<|start_header_id|>system<|end_header_id|>\n\nDescribe the video by detailing the following aspects: "
        + "1. The main content and theme of the video."
        + "2. The color, shape, size, texture, quantity, text, and spatial relationships of the objects."
        + "3. Actions, events, behaviors temporal relationships, physical movement changes of the objects."
        + "4. background environment, light, style and atmosphere."
        + "5. camera angles, movements, and transitions used in the video:<|eot_id|>"
        + "<|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>",
        95);

    /// <summary>Python's <c>template.format(prompt)</c> for a template with one <c>{}</c> and no other braces.</summary>
    public string Format(string prompt)
    {
        int at = Template.IndexOf("{}", StringComparison.Ordinal);
        if (at < 0 || Template.IndexOf("{}", at + 2, StringComparison.Ordinal) >= 0)
            throw new VDiTLensException($"prompt template must contain exactly one '{{}}' where the prompt goes; got \"{Template}\"");
        return string.Concat(Template.AsSpan(0, at), prompt, Template.AsSpan(at + 2));
    }
}
