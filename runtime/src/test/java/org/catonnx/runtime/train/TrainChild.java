package org.catonnx.runtime.train;

import org.catonnx.models.ModelSpec;
import org.catonnx.models.RandomInit;
import org.catonnx.runtime.SessionConfig;

import java.nio.file.Path;

/** Child process for {@link CheckpointKillTest}: trains with a checkpoint every step, resuming when one exists. */
public final class TrainChild {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        ModelSpec spec = TrainTestData.cat(8);
        TokenShards data = TokenShards.of("train", TrainTestData.copyCorpus(100, 1), TokenShards.TokenType.UINT16);
        TrainConfig c = new TrainConfig();
        c.steps = 100000;
        c.batch = 1;
        c.seqLen = 64;
        c.checkpointEvery = 1;
        c.keepCheckpoints = 2;
        boolean resume = Trainer.latestCheckpoint(dir).isPresent();
        try (Trainer t = resume ? Trainer.resume(dir, data, null, SessionConfig.defaults().withIntraOpThreads(1), dir, 0)
                : Trainer.create(spec, new RandomInit(spec, 1), c, data, null, SessionConfig.defaults().withIntraOpThreads(1), dir)) {
            System.out.println("started at step " + t.step());
            System.out.flush();
            t.train(new Trainer.Listener() {
                @Override public void onStep(Trainer.StepInfo s) {}
                @Override public void onCheckpoint(int step, Path file) {
                    System.out.println("checkpoint " + step);
                    System.out.flush();
                }
            });
        }
    }
}
