package org.ctibridge.gateway.link;

/**
 * A frame the receiver cannot use (docs/protocol.md §11). {@link #fatal} errors leave the
 * byte stream unusable: the receiver sends one Error and closes. The others concern one
 * frame, which was consumed whole: the receiver answers with an Error and reads on.
 */
public final class LinkException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Error code of §8.8 to answer with. */
    public final int code;
    /** Whether the connection must be closed. */
    public final boolean fatal;
    /** Sequence of the refused frame (0 when its header was unreadable). */
    public final long reqSeq;

    public LinkException(int code, boolean fatal, long reqSeq, String message) {
        super(message);
        this.code = code;
        this.fatal = fatal;
        this.reqSeq = reqSeq;
    }
}
