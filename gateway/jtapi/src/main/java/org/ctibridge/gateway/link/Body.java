package org.ctibridge.gateway.link;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A decoded message body: typed reads of its fields (docs/protocol.md §4.1). An absent
 * field reads as its zero value; a field of the wrong JSON type or out of its range makes
 * the body malformed ({@link LinkException} code MALFORMED). Unknown fields are ignored.
 */
public final class Body {
    private final Map<String, Object> m;
    private final String where;
    private final long seq;

    private Body(Map<String, Object> m, String where, long seq) {
        this.m = m;
        this.where = where;
        this.seq = seq;
    }

    /** Parses text as a body of the message named by type. Empty text and null mean {}. */
    @SuppressWarnings("unchecked")
    public static Body parse(int type, long seq, String text) throws LinkException {
        String name = Link.typeName(type);
        if (text.isEmpty()) {
            return new Body(Collections.emptyMap(), name, seq);
        }
        Object v;
        try {
            v = Json.parse(text);
        } catch (Json.ParseException e) {
            throw malformed(seq, name + ": " + e.getMessage());
        }
        if (v == null) {
            return new Body(Collections.emptyMap(), name, seq);
        }
        if (!(v instanceof Map)) {
            throw malformed(seq, name + ": body is not a JSON object");
        }
        return new Body((Map<String, Object>) v, name, seq);
    }

    private static LinkException malformed(long seq, String detail) {
        return new LinkException(Link.ERR_MALFORMED, false, seq, "ctilink: malformed message body: " + detail);
    }

    private LinkException wrong(String field, String want) {
        return malformed(seq, where + ": field " + field + " is not " + want);
    }

    public String str(String field) throws LinkException {
        Object v = m.get(field);
        if (v == null) {
            return "";
        }
        if (!(v instanceof String s)) {
            throw wrong(field, "a string");
        }
        return s;
    }

    public boolean bool(String field) throws LinkException {
        Object v = m.get(field);
        if (v == null) {
            return false;
        }
        if (!(v instanceof Boolean b)) {
            throw wrong(field, "a boolean");
        }
        return b;
    }

    /** An integer field within [min, max]. */
    public long integer(String field, long min, long max) throws LinkException {
        Object v = m.get(field);
        if (v == null) {
            return 0;
        }
        if (!(v instanceof Long l) || l < min || l > max) {
            throw wrong(field, "an integer in [" + min + ", " + max + "]");
        }
        return l;
    }

    public long uint32(String field) throws LinkException {
        return integer(field, 0, 0xffffffffL);
    }

    public int uint16(String field) throws LinkException {
        return (int) integer(field, 0, 0xffff);
    }

    public List<String> strings(String field) throws LinkException {
        Object v = m.get(field);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> l)) {
            throw wrong(field, "an array of strings");
        }
        List<String> out = new ArrayList<>(l.size());
        for (Object o : l) {
            if (!(o instanceof String s)) {
                throw wrong(field, "an array of strings");
            }
            out.add(s);
        }
        return out;
    }

    public List<Long> integers(String field) throws LinkException {
        Object v = m.get(field);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> l)) {
            throw wrong(field, "an array of integers");
        }
        List<Long> out = new ArrayList<>(l.size());
        for (Object o : l) {
            if (!(o instanceof Long n)) {
                throw wrong(field, "an array of integers");
            }
            out.add(n);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    public Body obj(String field) throws LinkException {
        Object v = m.get(field);
        if (v == null) {
            return new Body(Collections.emptyMap(), where + "." + field, seq);
        }
        if (!(v instanceof Map)) {
            throw wrong(field, "an object");
        }
        return new Body((Map<String, Object>) v, where + "." + field, seq);
    }

    /** Whether the body has field (present, even if null). */
    public boolean has(String field) {
        return m.containsKey(field);
    }
}
