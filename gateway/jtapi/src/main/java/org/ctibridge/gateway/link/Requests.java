package org.ctibridge.gateway.link;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The client's requests (docs/protocol.md §7.2), decoded and validated (§4.4). Every
 * decode method throws {@link LinkException} with MALFORMED for a body of the wrong shape
 * and INVALID_MESSAGE, naming every offending field, for one that fails validation.
 */
public final class Requests {
    private Requests() {}

    public record ProviderOpen(String login, String password, String appInfo, String instanceId,
            long desiredServerHeartbeatMs, String clientVersion, List<Long> protocolVersions,
            long applicationPriority) {}

    public record Media(String ip, int port, List<String> codecs, int packetMs) {}

    public record CTIPortRegister(String device, boolean dynamic, Media media) {}

    public record RouteSelect(long sessionId, List<String> destinations) {}

    public static ProviderOpen providerOpen(Body b, long seq) throws LinkException {
        ProviderOpen r = new ProviderOpen(b.str("login"), b.str("password"), b.str("appInfo"), b.str("instanceId"),
                b.integer("desiredServerHeartbeatMs", Long.MIN_VALUE, Long.MAX_VALUE), b.str("clientVersion"),
                b.integers("protocolVersions"), b.integer("applicationPriority", Long.MIN_VALUE, Long.MAX_VALUE));
        List<String> errs = new ArrayList<>();
        name(errs, "login", r.login, true);
        name(errs, "instanceId", r.instanceId, false);
        if (utf8Len(r.password) > 1024) {
            errs.add("password longer than 1024 bytes");
        }
        int before = errs.size();
        name(errs, "appInfo", r.appInfo, false);
        if (errs.size() == before && (r.appInfo.contains("=") || r.appInfo.contains(";"))) {
            errs.add("appInfo must not contain '=' or ';'");
        }
        if (r.desiredServerHeartbeatMs < 0) {
            errs.add("desiredServerHeartbeatMs is negative");
        }
        if (r.protocolVersions.isEmpty() || r.protocolVersions.size() > 16) {
            errs.add("protocolVersions must list 1 to 16 versions, got " + r.protocolVersions.size());
        }
        if (utf8Len(r.clientVersion) > Link.MAX_NAME_LEN) {
            errs.add("clientVersion too long");
        }
        return check(r, errs, "ProviderOpenRequest", seq);
    }

    public static int closeReason(Body b) throws LinkException {
        return b.uint16("reason");
    }

    /** DeviceOpen/Close, SnapshotRequest, RoutePointRegister and DeviceUnregister: the device. */
    public static String device(Body b, int type, long seq) throws LinkException {
        String d = b.str("device");
        List<String> errs = new ArrayList<>();
        name(errs, "device", d, true);
        return check(d, errs, Link.typeName(type), seq);
    }

    /** LineOpen/Close: device and line. */
    public static String[] line(Body b, int type, long seq) throws LinkException {
        String d = b.str("device");
        String l = b.str("line");
        List<String> errs = new ArrayList<>();
        name(errs, "device", d, true);
        name(errs, "line", l, true);
        return check(new String[] {d, l}, errs, Link.typeName(type), seq);
    }

    public static CTIPortRegister ctiPortRegister(Body b, long seq) throws LinkException {
        Body m = b.obj("media");
        Media media = new Media(m.str("ip"), (int) m.integer("port", Integer.MIN_VALUE, Integer.MAX_VALUE),
                m.strings("codecs"), (int) m.integer("packetMs", Integer.MIN_VALUE, Integer.MAX_VALUE));
        CTIPortRegister r = new CTIPortRegister(b.str("device"), b.bool("dynamic"), media);
        List<String> errs = new ArrayList<>();
        name(errs, "device", r.device, true);
        if (!r.dynamic) {
            name(errs, "media.ip", media.ip, true);
            if (media.port <= 0 || media.port > 65535) {
                errs.add("media.port " + media.port + " out of range 1-65535");
            }
        }
        if (media.codecs.size() > 32) {
            errs.add("media.codecs lists more than 32 codecs");
        }
        for (String c : media.codecs) {
            name(errs, "media.codecs[]", c, true);
        }
        if (media.packetMs < 0 || media.packetMs > 1000) {
            errs.add("media.packetMs " + media.packetMs + " out of range 0-1000");
        }
        return check(r, errs, "CTIPortRegisterRequest", seq);
    }

    public static RouteSelect routeSelect(Body b, long seq) throws LinkException {
        RouteSelect r = new RouteSelect(b.uint32("sessionId"), b.strings("destinations"));
        List<String> errs = new ArrayList<>();
        if (r.sessionId == 0) {
            errs.add("sessionId is required");
        } else if (r.destinations.isEmpty() || r.destinations.size() > 32) {
            errs.add("destinations must list 1 to 32 numbers, got " + r.destinations.size());
        } else {
            for (String d : r.destinations) {
                name(errs, "destinations[]", d, true);
            }
        }
        return check(r, errs, "RouteSelectRequest", seq);
    }

    private static <T> T check(T v, List<String> errs, String msg, long seq) throws LinkException {
        if (errs.isEmpty()) {
            return v;
        }
        throw new LinkException(Link.ERR_INVALID_MESSAGE, false, seq,
                "ctilink: invalid message: " + msg + ": " + String.join("; ", errs));
    }

    /** The name rules of §4.2; adds one error for field to errs when v breaks them. */
    public static void name(List<String> errs, String field, String v, boolean required) {
        String e = nameError(field, v, required);
        if (e != null) {
            errs.add(e);
        }
    }

    /** The name rules of §4.2: the error, or null. */
    public static String nameError(String field, String v, boolean required) {
        if (v.isEmpty()) {
            return required ? field + " is required" : null;
        }
        int n = utf8Len(v);
        if (n > Link.MAX_NAME_LEN) {
            return field + " is " + n + " bytes long, limit " + Link.MAX_NAME_LEN;
        }
        for (int k = 0; k < v.length(); k++) {
            char c = v.charAt(k);
            if (c < 0x20 || c == 0x7f) {
                return String.format("%s contains control character U+%04X", field, (int) c);
            }
        }
        return null;
    }

    /** Whether v is a valid optional name (§4.2). */
    public static boolean validName(String v) {
        return nameError("", v, false) == null;
    }

    static int utf8Len(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }
}
