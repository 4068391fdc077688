package org.catonnx.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.catonnx.exporter.reference.ReferenceCase;
import org.catonnx.nn.GraphOptions;
import org.catonnx.nn.AttentionForm;
import org.catonnx.onnx.DType;
import org.catonnx.runtime.Device;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.bundle.BundleModel;
import org.catonnx.runtime.verify.BundleSelfCheck;
import org.catonnx.runtime.verify.Check;
import org.catonnx.runtime.verify.ReferenceVerifier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Build graphs from a reference directory's weights (config.json, weights.safetensors, io.safetensors), "
                + "run them and compare every reference tensor present; or check a bundle's self-consistency. Exit code 0 only if all pass.")
final class VerifyCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--reference", paramLabel = "DIR", description = "reference directory in the golden format")
    Path reference;

    @Option(names = "--bundle", paramLabel = "BUNDLE",
            description = "check a bundle's self-consistency instead: checksums, then decode graphs vs forward graph and in-graph loop vs step decoder for every chunk size")
    Path bundle;

    @Option(names = "--fused-norm", description = FusedOperatorOptions.FUSED_NORM)
    boolean fusedNorm;

    @Option(names = "--precision", defaultValue = "float32", description = "float32, float16 or bfloat16 (default: ${DEFAULT-VALUE})")
    String precision;

    @Option(names = "--attention", defaultValue = "efficient", description = "CAT attention form: efficient, masked or custom (default: ${DEFAULT-VALUE})")
    String attention;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or auto (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--json", description = "print the result as JSON")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if ((reference == null) == (bundle == null)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "give exactly one of --reference DIR and --bundle BUNDLE");
        }
        GraphOptions o = new GraphOptions(DType.parsePrecision(precision), AttentionForm.parse(attention)).withFusedNorm(fusedNorm);
        SessionConfig sc = SessionConfig.defaults().withDevice(Device.parse(device));
        List<Check> checks;
        Path target = reference != null ? reference : bundle;
        if (bundle != null) {
            try (BundleModel model = BundleModel.open(bundle, sc)) {
                if (!json) System.out.println("verifying bundle " + bundle + ": " + model.spec() + " (checksums ok)");
                checks = BundleSelfCheck.run(model, step -> {
                    if (!json) System.out.println("  running " + step + " ...");
                });
            }
            return report(target, checks);
        }
        try (ReferenceCase rc = ReferenceCase.open(reference)) {
            if (!json) System.out.println("verifying " + reference + ": " + rc.spec() + ", " + o.precision + ", " + o.attentionForm + " attention");
            checks = new ReferenceVerifier(o, sc, step -> {
                if (!json) System.out.println("  running " + step + " ...");
            }).verify(rc);
        }
        return report(target, checks);
    }

    private int report(Path target, List<Check> checks) throws Exception {
        boolean ok = !checks.isEmpty() && checks.stream().allMatch(Check::passed);
        if (json) {
            ObjectMapper m = new ObjectMapper();
            ObjectNode root = m.createObjectNode().put(reference != null ? "reference" : "bundle", target.toString()).put("passed", ok);
            ArrayNode arr = root.putArray("checks");
            for (Check c : checks) {
                arr.addObject().put("output", c.output).put("measure", c.measure).put("error", c.error)
                        .put("tolerance", c.tolerance).put("passed", c.passed()).put("note", c.note);
            }
            System.out.println(m.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        } else {
            System.out.printf("%-28s %-9s %10s  %10s%n", "output", "measure", "max error", "tolerance");
            checks.forEach(System.out::println);
            long failed = checks.stream().filter(c -> !c.passed()).count();
            System.out.println(checks.isEmpty() ? "nothing to compare: the directory holds no known reference outputs"
                    : (ok ? "PASS" : "FAIL") + ": " + (checks.size() - failed) + " of " + checks.size() + " checks passed");
        }
        return ok ? 0 : CatExport.CHECK_FAILED;
    }
}
