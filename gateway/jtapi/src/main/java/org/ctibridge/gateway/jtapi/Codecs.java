package org.ctibridge.gateway.jtapi;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import com.cisco.jtapi.extensions.CiscoMediaCapability;
import com.cisco.jtapi.extensions.CiscoRTPPayload;

/**
 * Codec names of the link (MediaParams.codecs, Media.codec: free-form names such as
 * "G711U" or "G711Ulaw64k") ↔ JTAPI's RTP payload types (CiscoRTPPayload).
 */
final class Codecs {
    private Codecs() {}

    /** The payload type a codec name stands for, or -1. */
    static int payload(String name) {
        String n = name.toUpperCase(Locale.ROOT).replace(".", "").replace("-", "").replace("_", "");
        if (n.startsWith("G711U") || n.equals("PCMU")) {
            return CiscoRTPPayload.G711ULAW64K;
        }
        if (n.startsWith("G711A") || n.equals("PCMA")) {
            return CiscoRTPPayload.G711ALAW64K;
        }
        if (n.startsWith("G729A")) {
            return CiscoRTPPayload.G729ANNEXA;
        }
        if (n.startsWith("G729")) {
            return CiscoRTPPayload.G729;
        }
        if (n.startsWith("G722")) {
            return CiscoRTPPayload.G722_64K;
        }
        if (n.startsWith("G723")) {
            return CiscoRTPPayload.G7231;
        }
        if (n.startsWith("GSM")) {
            return CiscoRTPPayload.GSM;
        }
        if (n.startsWith("ISAC")) {
            return CiscoRTPPayload.ISAC;
        }
        if (n.startsWith("WIDEBAND") || n.equals("L16")) {
            return CiscoRTPPayload.WIDEBAND_256K;
        }
        return -1;
    }

    /** JTAPI's name of a payload type (as the simulator reports codecs). */
    static String canonical(int payload) {
        switch (payload) {
            case CiscoRTPPayload.G711ULAW64K: return "G711Ulaw64k";
            case CiscoRTPPayload.G711ALAW64K: return "G711Alaw64k";
            case CiscoRTPPayload.G729: return "G729";
            case CiscoRTPPayload.G729ANNEXA: return "G729AnnexA";
            case CiscoRTPPayload.G722_64K: return "G722_64k";
            case CiscoRTPPayload.G7231: return "G7231";
            case CiscoRTPPayload.GSM: return "GSM";
            case CiscoRTPPayload.ISAC: return "iSAC";
            case CiscoRTPPayload.WIDEBAND_256K: return "Wideband256k";
            default: return "payload" + payload;
        }
    }

    /**
     * The name to report for a payload type: the registration's own name for it when the
     * bridge registered one (so the bridge sees the codec it asked for), else JTAPI's.
     */
    static String name(int payload, List<String> registered) {
        for (String r : registered) {
            if (payload(r) == payload) {
                return r;
            }
        }
        return canonical(payload);
    }

    /**
     * The media capabilities for a registration: one per known codec, with packetMs as
     * the packet size (default 20 ms); no codecs means G.711 µ-law, CUCM's baseline.
     */
    static CiscoMediaCapability[] capabilities(List<String> codecs, int packetMs) {
        int ms = packetMs > 0 ? packetMs : 20;
        List<CiscoMediaCapability> caps = new ArrayList<>();
        for (String c : codecs) {
            int p = payload(c);
            if (p >= 0) {
                caps.add(new CiscoMediaCapability(p, ms));
            }
        }
        if (caps.isEmpty()) {
            caps.add(new CiscoMediaCapability(CiscoRTPPayload.G711ULAW64K, ms));
        }
        return caps.toArray(new CiscoMediaCapability[0]);
    }
}
