using System.CommandLine;
using VDiTLens;
using VDiTLens.Cli;

var root = new RootCommand("VDiTLens: run video diffusion transformers and see and steer their attention");
foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);

try
{
    var parse = root.Parse(args);
    return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e)
{
    return ErrorReport.Print(e);
}
