package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The fixed 2-D sine-cosine tables: hand-computed entries, and the reference formula at full size. */
class PositionEmbeddingTest {
    // sin and cos of 1 and of 0.01 = 1/10000^(1/2), the two frequencies of an 8-wide table's quarters.
    private static final double SIN1 = 0.8414709848078965, COS1 = 0.5403023058681398;
    private static final double SIN001 = 0.009999833334166664, COS001 = 0.9999500004166653;

    @Test
    void handComputedEntriesOfAnEightWideTable() {
        MaeConfig config = MaeConfig.builder()
                .imgSize(4)
                .patchSize(2)
                .inChans(1)
                .embedDim(8)
                .depth(1)
                .numHeads(2)
                .decoderEmbedDim(8)
                .decoderDepth(1)
                .decoderNumHeads(2)
                .precision(DType.F64)
                .build();
        try (Model model = Model.create(config, Device.cpu(), 0);
                Tensor pos = model.parameter("pos_embed")) {
            double[] t = pos.toDoubleArray();
            assertArrayEquals(new long[] {1, 5, 8}, pos.shape());
            // [CLS] slot: zeros
            assertArrayEquals(new double[8], slice(t, 0), 0);
            // token 1 = grid (row 0, column 0): sin 0 = 0, cos 0 = 1 in both halves
            assertArrayEquals(new double[] {0, 0, 1, 1, 0, 0, 1, 1}, slice(t, 1), 1e-15);
            // token 2 = (row 0, column 1): the first half encodes the column
            assertArrayEquals(new double[] {SIN1, SIN001, COS1, COS001, 0, 0, 1, 1}, slice(t, 2), 1e-15);
            // token 3 = (row 1, column 0): the second half encodes the row
            assertArrayEquals(new double[] {0, 0, 1, 1, SIN1, SIN001, COS1, COS001}, slice(t, 3), 1e-15);
            // token 4 = (row 1, column 1)
            assertArrayEquals(
                    new double[] {SIN1, SIN001, COS1, COS001, SIN1, SIN001, COS1, COS001}, slice(t, 4), 1e-15);
        }
    }

    @Test
    void viTBaseTablesFollowTheReferenceFormula() {
        MaeConfig config =
                MaeConfig.vitBase16().toBuilder().depth(1).decoderDepth(1).build();
        try (Model model = Model.create(config, Device.cpu(), 0);
                Tensor pos = model.parameter("pos_embed");
                Tensor dec = model.parameter("decoder_pos_embed")) {
            TestData.assertClose(ReferenceMae.sincosTable(768, 14), pos.toDoubleArray(), 1e-6, "pos_embed");
            TestData.assertClose(ReferenceMae.sincosTable(512, 14), dec.toDoubleArray(), 1e-6, "decoder_pos_embed");
        }
    }

    @Test
    void positionTablesAreNotTrained() {
        try (Model model = Model.create(MaeConfig.tiny(), Device.cpu(), 0)) {
            for (ParameterInfo p : model.parameters()) {
                boolean table = p.name().equals("pos_embed") || p.name().equals("decoder_pos_embed");
                assertEquals(!table, p.trainable(), p.name());
            }
        }
    }

    private static double[] slice(double[] table, int row) {
        double[] r = new double[8];
        System.arraycopy(table, row * 8, r, 0, 8);
        return r;
    }
}
