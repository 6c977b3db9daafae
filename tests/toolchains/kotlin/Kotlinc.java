import org.jetbrains.kotlin.cli.common.ExitCode;
import org.jetbrains.kotlin.cli.jvm.K2JVMCompiler;

/**
 * Runs several kotlinc compilations in one JVM, so that only the first pays for start-up:
 * {@code java -cp COMPILER_CLASSPATH Kotlinc.java ARGS... --next ARGS...}.
 * Exits non-zero when any compilation fails.
 */
public class Kotlinc {
    public static void main(String[] args) {
        java.util.List<String> current = new java.util.ArrayList<>();
        int failed = 0;
        for (int i = 0; i <= args.length; i++) {
            if (i == args.length || args[i].equals("--next")) {
                long t0 = System.nanoTime();
                ExitCode code = new K2JVMCompiler().exec(System.err, current.toArray(new String[0]));
                System.err.printf("kotlinc: %s in %.1f s%n", code, (System.nanoTime() - t0) / 1e9);
                if (code != ExitCode.OK) failed++;
                current.clear();
            } else {
                current.add(args[i]);
            }
        }
        System.exit(failed == 0 ? 0 : 1);
    }
}
