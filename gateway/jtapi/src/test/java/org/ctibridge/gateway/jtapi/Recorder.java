package org.ctibridge.gateway.jtapi;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.ctibridge.gateway.link.Link;
import org.ctibridge.gateway.link.Out;

/** A ProviderSession.LinkSide that records what the session sends (tests). */
final class Recorder implements ProviderSession.LinkSide {
    final List<Out> sent = new ArrayList<>();
    int closedReason = -1;
    String closedWhy = "";

    @Override
    public synchronized void send(Out msg) {
        sent.add(msg);
    }

    @Override
    public synchronized void close(int reason, String description) {
        closedReason = reason;
        closedWhy = description;
    }

    synchronized List<Out> all() {
        return new ArrayList<>(sent);
    }

    synchronized void clear() {
        sent.clear();
    }

    /**
     * The call events as compact lines, e.g. "1001 DIALTONE", "1002 DISCONNECTED 16",
     * "Feature transfer started", "CallChanged 1003 2->1", "Route used 1001".
     */
    synchronized List<String> lines() {
        List<String> out = new ArrayList<>();
        for (Out o : sent) {
            Map<String, Object> f = o.fields();
            switch (o.type) {
                case Link.CALL_STATE: {
                    String line = (String) f.get("line");
                    if (((String) f.get("device")).startsWith("SEPS")) {
                        line += "@" + f.get("device"); // a shared line's appearance
                    }
                    String s = line + " " + STATES.get(((Number) f.get("state")).intValue());
                    int cause = ((Number) f.get("cause")).intValue();
                    if (cause != 0) {
                        s += " " + cause;
                    }
                    if (Boolean.TRUE.equals(f.get("snapshot"))) {
                        s += " snapshot";
                    }
                    out.add(s);
                    break;
                }
                case Link.FEATURE:
                    out.add("Feature " + f.get("feature") + " " + (Boolean.TRUE.equals(f.get("started")) ? "started"
                            : "ended") + " " + f.get("line"));
                    break;
                case Link.CALL_CHANGED:
                    out.add("CallChanged " + f.get("line") + " " + f.get("originalCallId") + "->"
                            + f.get("survivingCallId"));
                    break;
                case Link.ROUTE:
                    out.add("Route " + f.get("kind") + (f.containsKey("selected") ? " " + f.get("selected") : "")
                            + " " + f.get("cause"));
                    break;
                case Link.MEDIA:
                    out.add("Media " + f.get("kind") + " " + f.getOrDefault("ip", "") + ":" + f.getOrDefault("port", 0)
                            + " " + f.getOrDefault("codec", ""));
                    break;
                case Link.CALL_PARTY:
                    out.add("CallParty " + f.get("line") + " " + ((Map<?, ?>) f.get("party")).get("dn") + " "
                            + (Boolean.TRUE.equals(f.get("added")) ? "added" : "removed"));
                    break;
                default:
                    break;
            }
        }
        return out;
    }

    static final Map<Integer, String> STATES = Map.ofEntries(Map.entry(0, "UNKNOWN"), Map.entry(1, "IDLE"),
            Map.entry(2, "OFFERING"), Map.entry(3, "ACCEPTED"), Map.entry(4, "DIALTONE"), Map.entry(5, "DIALING"),
            Map.entry(6, "RINGBACK"), Map.entry(7, "BUSY"), Map.entry(8, "CONNECTED"), Map.entry(9, "PROCEEDING"),
            Map.entry(10, "ONHOLD"), Map.entry(14, "DISCONNECTED"), Map.entry(16, "REMOTEINUSE"),
            Map.entry(20, "QUEUED"));
}
