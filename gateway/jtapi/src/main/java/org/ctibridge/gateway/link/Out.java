package org.ctibridge.gateway.link;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An outgoing message: a type and its body fields in order. {@link #opt} leaves out a
 * field whose value is zero, for the fields docs/protocol.md §7 marks "omitted when zero";
 * {@link #put} always sends it, as the reference encoder does.
 */
public final class Out {
    public final int type;
    private final Map<String, Object> fields = new LinkedHashMap<>();

    private Out(int type) {
        this.type = type;
    }

    public static Out of(int type) {
        return new Out(type);
    }

    public Out put(String k, Object v) {
        fields.put(k, v);
        return this;
    }

    /** Puts v unless it is zero: "", 0, false, an empty list or an empty object. */
    public Out opt(String k, Object v) {
        if (v == null || "".equals(v) || Boolean.FALSE.equals(v)
                || (v instanceof Number n && n.longValue() == 0)
                || (v instanceof List<?> l && l.isEmpty())
                || (v instanceof Map<?, ?> mm && mm.isEmpty())) {
            return this;
        }
        fields.put(k, v);
        return this;
    }

    public Object get(String k) {
        return fields.get(k);
    }

    public Map<String, Object> fields() {
        return fields;
    }

    public byte[] bodyBytes() {
        return Json.encode(fields).getBytes(StandardCharsets.UTF_8);
    }

    /** A Party object (§7.3): dn and device, each omitted when empty. */
    public static Map<String, Object> party(String dn, String device) {
        Map<String, Object> p = new LinkedHashMap<>();
        if (dn != null && !dn.isEmpty()) {
            p.put("dn", dn);
        }
        if (device != null && !device.isEmpty()) {
            p.put("device", device);
        }
        return p;
    }

    @Override
    public String toString() {
        return Link.typeName(type) + Json.encode(fields);
    }
}
