package dev.mae4j;

/**
 * A rank of {@link DistributedTest} in a process of its own, so the test can kill it: "PORT RANK WORLD TIMEOUT_MS"
 * joins the group, then trains the test's tiny model step after step, printing "step i" after each.
 */
public final class DistributedChild {
    public static void main(String[] args) {
        int port = Integer.parseInt(args[0]), rank = Integer.parseInt(args[1]), world = Integer.parseInt(args[2]);
        var options = ProcessGroup.Options.of("127.0.0.1", port, rank, world)
                .withTimeout(java.time.Duration.ofMillis(Long.parseLong(args[3])));
        try (ProcessGroup group = ProcessGroup.join(options);
                Model model = Model.create(DistributedTest.CONFIG, Device.cpu(), 1);
                Trainer trainer = Trainer.builder(model).processGroup(group).build();
                Masker masker = Masker.random(0.75, rank);
                Tensor images = Tensor.fromDoubles(TestData.gaussian(2 * 128, rank), 2, 2, 8, 8)) {
            for (int i = 0; ; i++) {
                trainer.step(images, masker);
                System.out.println("step " + i);
            }
        }
    }
}
