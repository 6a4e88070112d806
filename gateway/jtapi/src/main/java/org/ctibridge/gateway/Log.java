package org.ctibridge.gateway;

import java.io.PrintStream;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import org.ctibridge.gateway.link.Json;

/**
 * Structured log lines (one JSON object per line on stderr, like the bridge's zerolog
 * output): level, time, component, message and key/value fields. Injected, never global.
 */
public final class Log {
    public enum Level { DEBUG, INFO, WARN, ERROR }

    private final PrintStream out;
    private final Level min;
    private final String component;

    public Log(PrintStream out, Level min, String component) {
        this.out = out;
        this.min = min;
        this.component = component;
    }

    /** A logger that writes nothing (tests). */
    public static Log discard() {
        return new Log(null, Level.ERROR, "");
    }

    /** The same sink and level, another component name. */
    public Log with(String comp) {
        return new Log(out, min, comp);
    }

    public void debug(String msg, Object... kv) {
        log(Level.DEBUG, msg, kv);
    }

    public void info(String msg, Object... kv) {
        log(Level.INFO, msg, kv);
    }

    public void warn(String msg, Object... kv) {
        log(Level.WARN, msg, kv);
    }

    public void error(String msg, Object... kv) {
        log(Level.ERROR, msg, kv);
    }

    private void log(Level l, String msg, Object... kv) {
        if (out == null || l.ordinal() < min.ordinal()) {
            return;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("level", l.name().toLowerCase());
        m.put("time", Instant.now().toString());
        if (!component.isEmpty()) {
            m.put("component", component);
        }
        for (int i = 0; i + 1 < kv.length; i += 2) {
            Object v = kv[i + 1];
            if (v instanceof Throwable t) {
                v = t.toString();
            } else if (v != null && !(v instanceof Number) && !(v instanceof Boolean) && !(v instanceof String)) {
                v = String.valueOf(v);
            }
            m.put(String.valueOf(kv[i]), v);
        }
        m.put("message", msg);
        String line = Json.encode(m);
        synchronized (out) {
            out.println(line);
        }
    }
}
