using System.Text.Json.Nodes;
using VDiTLens.Models.Common;

namespace VDiTLens.Tests.Models.Common;

public sealed class ConfigReaderTests
{
    [Fact]
    public void A_variant_field_of_the_wrong_json_type_is_a_clear_error_naming_the_field()
    {
        var reader = new ConfigReader(JsonNode.Parse("""{"qk_norm": 3}""")!.AsObject(), "config.json");
        var e = Assert.Throws<VDiTLensException>(() =>
            reader.RejectUnless("qk_norm", n => n is null || n.GetValue<string>() == "rms_norm", "a q/k norm other than rms_norm"));
        Assert.Contains("config.json: field 'qk_norm' = 3", e.Message);
    }

    [Fact]
    public void A_numeric_field_holding_text_names_the_field()
    {
        var reader = new ConfigReader(JsonNode.Parse("""{"num_layers": "many"}""")!.AsObject(), "config.json");
        Assert.Contains("'num_layers'", Assert.Throws<VDiTLensException>(() => reader.Get("num_layers", 1)).Message);
    }
}
