package org.ctibridge.gateway;

import java.util.concurrent.TimeUnit;

/**
 * The server's heartbeat rules of docs/protocol.md §9.2 as a pure function of the times,
 * so they are tested with explicit times rather than by waiting.
 */
public final class Heartbeats {
    private Heartbeats() {}

    public enum Action { NONE, SEND, DROP }

    /**
     * What is due at now (nanoseconds, System.nanoTime scale): DROP when nothing was
     * received for 2 × clientHeartbeatMs, SEND when nothing was sent for serverHeartbeatMs.
     */
    public static Action due(long now, long lastSent, long lastRecv, long serverHbMs, long clientHbMs) {
        if (clientHbMs > 0 && now - lastRecv >= TimeUnit.MILLISECONDS.toNanos(2 * clientHbMs)) {
            return Action.DROP;
        }
        if (serverHbMs > 0 && now - lastSent >= TimeUnit.MILLISECONDS.toNanos(serverHbMs)) {
            return Action.SEND;
        }
        return Action.NONE;
    }
}
