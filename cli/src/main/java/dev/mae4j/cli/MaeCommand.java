package dev.mae4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The `mae` command. */
@Command(
        name = "mae",
        mixinStandardHelpOptions = true,
        version = "mae4j 0.1.0",
        description = "Masked Autoencoders on the JVM.",
        subcommands = {
            PretrainCommand.class,
            FinetuneCommand.class,
            LinprobeCommand.class,
            EmbedCommand.class,
            ServeCommand.class,
            ConvertCommand.class,
            BenchCommand.class,
            ReconstructCommand.class,
            PackCommand.class,
            SweepCommand.class,
            InfoCommand.class
        })
public final class MaeCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine(new MaeCommand()).execute(args));
    }

    /** A command line for {@code command} that reports the user's errors in one line ({@link UserErrors}). */
    static CommandLine commandLine(Object command) {
        return new CommandLine(command).setExecutionExceptionHandler(new UserErrors());
    }
}
