package dev.mae4j;

/**
 * A collective of a {@link ProcessGroup} failed: another rank died, left, never arrived or took longer than
 * the group's timeout. The group and the trainers using it cannot continue; end the process (a launcher
 * restarts the job from its last checkpoint).
 */
public final class PeerFailureException extends MaeException {
    private static final long serialVersionUID = 1L;

    PeerFailureException(String message) {
        super(message);
    }
}
