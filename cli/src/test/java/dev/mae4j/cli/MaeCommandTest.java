package dev.mae4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MaeCommandTest {
    @Test
    void everySubcommandAnswersHelpWithItsUsage() {
        CommandLine mae = MaeCommand.commandLine(new MaeCommand());
        assertTrue(
                mae.getSubcommands().size() >= 10, mae.getSubcommands().keySet().toString());
        for (String name : mae.getSubcommands().keySet()) {
            StringWriter out = new StringWriter();
            CommandLine fresh = MaeCommand.commandLine(new MaeCommand()).setOut(new PrintWriter(out));
            assertEquals(0, fresh.execute(name, "--help"), name);
            assertTrue(out.toString().startsWith("Usage: mae " + name), name + ": " + out);
        }
    }
}
