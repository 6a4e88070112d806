package org.ctibridge.gateway.jtapi;

/** A provider open that failed, with the link's close reason (docs/protocol.md §8.3). */
public final class OpenFailure extends Exception {
    private static final long serialVersionUID = 1L;

    public final int reason;

    public OpenFailure(int reason, String description, Throwable cause) {
        super(description, cause);
        this.reason = reason;
    }
}
