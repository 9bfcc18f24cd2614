package dev.mae4j.data;

import java.io.IOException;

/** An image whose header declares more pixels than the decoding budget ({@link ImageHeader#maxPixels}). */
public final class ImageTooLargeException extends IOException {
    private static final long serialVersionUID = 1L;
    private final int width, height;
    private final long budget;

    public ImageTooLargeException(String what, int width, int height, long budget) {
        super(what + " is " + width + "×" + height + " = " + (long) width * height + " pixels, over the budget of "
                + budget + " (a decompression bomb? raise it with -D" + ImageHeader.MAX_PIXELS_PROPERTY
                + "=N or ImageHeader.setMaxPixels)");
        this.width = width;
        this.height = height;
        this.budget = budget;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    public long budget() {
        return budget;
    }
}
