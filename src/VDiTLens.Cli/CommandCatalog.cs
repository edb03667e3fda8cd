using System.CommandLine;
using VDiTLens.Cli.Commands;

namespace VDiTLens.Cli;

/// <summary>Every verb of the <c>vditlens</c> command.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return DoctorCommand.Create();
        yield return InspectCommand.Create();
        yield return ForwardCommand.Create();
        yield return BenchCommand.Create();
        yield return BenchOpsCommand.Create();
        yield return BenchPipelineCommand.Create();
        yield return ProbeCommand.Create();
        yield return DemoCommand.Create();
        yield return GenerateCommand.Create();
        yield return FuzzCommand.Create();
        yield return SparsityCommand.Create();
        yield return BenchSparseCommand.Create();
        yield return StructureCommand.Create();
        yield return MapCommand.Create();
        yield return HeadsCommand.Create();
        yield return ExpertsCommand.Create();
        yield return EditCommand.Create();
        yield return EditStudyCommand.Create();
        yield return SinksCommand.Create();
        yield return TextAblationCommand.Create();
        yield return RetrainCommand.Create();
        yield return TrainTinyCommand.Create();
        yield return TrainTinyLmCommand.Create();
        yield return EvalTinyCommand.Create();
        yield return SceneCheckCommand.Create();
        yield return MergeCommand.Create();
        yield return SubmitCommand.Create();
    }
}
