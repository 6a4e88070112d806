package org.ctibridge.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** docs/protocol.md §9.2, with explicit times (nanoseconds). */
class HeartbeatsTest {
    private static final long MS = 1_000_000L;

    @Test
    void sendsWhenIdleForTheServerInterval() {
        assertEquals(Heartbeats.Action.NONE, Heartbeats.due(999 * MS, 0, 999 * MS, 1000, 1000));
        assertEquals(Heartbeats.Action.SEND, Heartbeats.due(1000 * MS, 0, 1000 * MS, 1000, 1000));
    }

    @Test
    void dropsAClientSilentForTwiceItsInterval() {
        assertEquals(Heartbeats.Action.SEND, Heartbeats.due(1999 * MS, 0, 0, 1000, 1000));
        assertEquals(Heartbeats.Action.DROP, Heartbeats.due(2000 * MS, 1999 * MS, 0, 1000, 1000));
    }

    @Test
    void anyFrameCounts() {
        // lastRecv is the time of any frame, not only of Heartbeats: a busy client is never dropped.
        assertEquals(Heartbeats.Action.NONE, Heartbeats.due(5000 * MS, 4999 * MS, 4000 * MS, 1000, 1000));
    }
}
