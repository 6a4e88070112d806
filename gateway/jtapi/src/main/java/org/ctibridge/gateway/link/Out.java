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

    /** A Party object (§7.3): dn and device, each omitted when empty, each a valid name. */
    public static Map<String, Object> party(String dn, String device) {
        Map<String, Object> p = new LinkedHashMap<>();
        dn = name(dn);
        device = name(device);
        if (!dn.isEmpty()) {
            p.put("dn", dn);
        }
        if (!device.isEmpty()) {
            p.put("device", device);
        }
        return p;
    }

    /**
     * s as a valid name of §4.2: control characters removed, cut to 128 bytes of UTF-8
     * (on a character boundary). CUCM's numbers and device names fit; a SIP URI or a
     * display string from elsewhere might not, and one invalid field would make the
     * bridge refuse the whole event.
     */
    public static String name(String s) {
        if (s == null || s.isEmpty()) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        int bytes = 0;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp < 0x20 || cp == 0x7f) {
                continue;
            }
            int n = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
            if (bytes + n > Link.MAX_NAME_LEN) {
                break;
            }
            bytes += n;
            b.appendCodePoint(cp);
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return Link.typeName(type) + Json.encode(fields);
    }
}
