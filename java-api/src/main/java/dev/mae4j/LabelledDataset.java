package dev.mae4j;

/** A dataset whose images carry class labels in [0, classes), or −1 for an unlabeled image. */
public interface LabelledDataset extends ImageDataset {
    int label(int index);

    /** The number of classes; labels are below it. */
    int classCount();

    /** Whether every image has a label (fine-tuning and probes need it). */
    default boolean fullyLabelled() {
        for (int i = 0; i < size(); i++) if (label(i) < 0) return false;
        return true;
    }
}
