package org.catonnx.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The cat-export command line. Exit codes: 0 ok, 1 a check failed, 2 bad usage, 3 bad input, 4 internal error. */
@Command(name = "cat-export", mixinStandardHelpOptions = true, versionProvider = CatExport.Version.class,
        description = "Export CAT language models to ONNX, verify them against reference tensors and run them with ONNX Runtime.",
        subcommands = {VerifyCommand.class, GenerateCommand.class, BenchCommand.class, BenchMemoryCommand.class, BenchAttentionCommand.class, BenchChartCommand.class, ExportCommand.class, InspectCommand.class, TrainCommand.class, BenchTrainCommand.class, CommandLine.HelpCommand.class})
public final class CatExport implements Runnable {
    public static final int CHECK_FAILED = 1;
    public static final int BAD_INPUT = 3;
    public static final int INTERNAL = 4;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new CatExport());
        cl.setExecutionExceptionHandler((ex, line, parse) -> {
            boolean input = ex instanceof java.io.IOException || ex instanceof IllegalArgumentException;
            line.getErr().println("cat-export: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            if (!input) ex.printStackTrace(line.getErr());
            return input ? BAD_INPUT : INTERNAL;
        });
        return cl;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = CatExport.class.getPackage().getImplementationVersion();
            return new String[] {"cat-export " + (v == null ? "dev" : v) + " (ONNX opset " + org.catonnx.onnx.Domains.ONNX_OPSET + ")"};
        }
    }
}
