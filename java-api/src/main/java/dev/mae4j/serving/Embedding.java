package dev.mae4j.serving;

/** One image's feature vector and the id of the model that computed it ({@link BatchingEncoder#embed}). */
public record Embedding(float[] vector, String modelId) {}
