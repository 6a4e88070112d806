package org.ctibridge.gateway.link;

import java.util.Map;

/**
 * Constants of the CTI link protocol, version 1 (docs/protocol.md). The values are the
 * ones pkg/ctilink defines; a test compares them with the protocol document.
 */
public final class Link {
    private Link() {}

    public static final int MAGIC = 0x4354494C; // "CTIL"
    public static final int HEADER_VERSION = 1;
    public static final int HEADER_SIZE = 16;
    /** Default receive limit of a body (§4.3); peers do not announce theirs. */
    public static final int DEFAULT_MAX_FRAME = 256 << 10;
    /** Largest body the reference encoder sends (§4.3). */
    public static final int HARD_MAX_FRAME = 4 << 20;
    public static final int MAX_NAME_LEN = 128;
    /** Devices per DeviceListResponse page (§9.3). */
    public static final int MAX_DEVICES_PER_PAGE = 500;
    /** Lines per device in a DeviceInfo (§4.3). */
    public static final int MAX_LINES_PER_DEVICE = 64;

    /** Protocol versions this gateway speaks, highest last (§6). */
    public static final int[] PROTOCOL_VERSIONS = {1};

    // Message types (§7.1).
    public static final int PROVIDER_OPEN_REQUEST = 0x01;
    public static final int HEARTBEAT = 0x02;
    public static final int PROVIDER_CLOSE_REQUEST = 0x03;
    public static final int DEVICE_LIST_REQUEST = 0x04;
    public static final int DEVICE_OPEN_REQUEST = 0x05;
    public static final int DEVICE_CLOSE_REQUEST = 0x06;
    public static final int LINE_OPEN_REQUEST = 0x07;
    public static final int LINE_CLOSE_REQUEST = 0x08;
    public static final int CTI_PORT_REGISTER_REQUEST = 0x09;
    public static final int ROUTE_POINT_REGISTER_REQUEST = 0x0A;
    public static final int SNAPSHOT_REQUEST = 0x0B;
    public static final int ROUTE_SELECT_REQUEST = 0x0C;
    public static final int DEVICE_UNREGISTER_REQUEST = 0x0D;
    public static final int PROVIDER_OPEN_RESPONSE = 0x81;
    public static final int PROVIDER_OPEN_COMPLETED = 0x82;
    public static final int PROVIDER_CLOSED = 0x83;
    public static final int DEVICE_LIST_RESPONSE = 0x84;
    public static final int RESPONSE = 0x85;
    public static final int SNAPSHOT_COMPLETED = 0x86;
    public static final int CALL_STATE = 0x87;
    public static final int DEVICE_SERVICE = 0x88;
    public static final int LINE_SERVICE = 0x89;
    public static final int DEVICE_REGISTRATION = 0x8A;
    public static final int FEATURE = 0x8B;
    public static final int ROUTE = 0x8C;
    public static final int MEDIA = 0x8D;
    public static final int CALL_PARTY = 0x8E;
    public static final int CALL_CHANGED = 0x8F;
    public static final int ERROR = 0xFF;

    private static final Map<Integer, String> TYPE_NAMES = Map.ofEntries(
            Map.entry(PROVIDER_OPEN_REQUEST, "ProviderOpenRequest"), Map.entry(HEARTBEAT, "Heartbeat"),
            Map.entry(PROVIDER_CLOSE_REQUEST, "ProviderCloseRequest"),
            Map.entry(DEVICE_LIST_REQUEST, "DeviceListRequest"), Map.entry(DEVICE_OPEN_REQUEST, "DeviceOpenRequest"),
            Map.entry(DEVICE_CLOSE_REQUEST, "DeviceCloseRequest"), Map.entry(LINE_OPEN_REQUEST, "LineOpenRequest"),
            Map.entry(LINE_CLOSE_REQUEST, "LineCloseRequest"),
            Map.entry(CTI_PORT_REGISTER_REQUEST, "CTIPortRegisterRequest"),
            Map.entry(ROUTE_POINT_REGISTER_REQUEST, "RoutePointRegisterRequest"),
            Map.entry(SNAPSHOT_REQUEST, "SnapshotRequest"), Map.entry(ROUTE_SELECT_REQUEST, "RouteSelectRequest"),
            Map.entry(DEVICE_UNREGISTER_REQUEST, "DeviceUnregisterRequest"),
            Map.entry(PROVIDER_OPEN_RESPONSE, "ProviderOpenResponse"),
            Map.entry(PROVIDER_OPEN_COMPLETED, "ProviderOpenCompleted"), Map.entry(PROVIDER_CLOSED, "ProviderClosed"),
            Map.entry(DEVICE_LIST_RESPONSE, "DeviceListResponse"), Map.entry(RESPONSE, "Response"),
            Map.entry(SNAPSHOT_COMPLETED, "SnapshotCompleted"), Map.entry(CALL_STATE, "CallState"),
            Map.entry(DEVICE_SERVICE, "DeviceService"), Map.entry(LINE_SERVICE, "LineService"),
            Map.entry(DEVICE_REGISTRATION, "DeviceRegistration"), Map.entry(FEATURE, "Feature"),
            Map.entry(ROUTE, "Route"), Map.entry(MEDIA, "Media"), Map.entry(CALL_PARTY, "CallParty"),
            Map.entry(CALL_CHANGED, "CallChanged"), Map.entry(ERROR, "Error"));

    /** Whether t is a message type of this protocol version. */
    public static boolean known(int t) {
        return TYPE_NAMES.containsKey(t);
    }

    /** The message name of type t, e.g. "CallState", or "MsgType(0x..)". */
    public static String typeName(int t) {
        String n = TYPE_NAMES.get(t);
        return n != null ? n : String.format("MsgType(0x%x)", t);
    }

    /** Whether t is sent by the client (requests below 0x80; Heartbeat and Error both ways). */
    public static boolean fromClient(int t) {
        return t < 0x80 || t == ERROR;
    }

    // Call states (§8.1).
    public static final int CS_UNKNOWN = 0;
    public static final int CS_IDLE = 1;
    public static final int CS_OFFERING = 2;
    public static final int CS_ACCEPTED = 3;
    public static final int CS_DIALTONE = 4;
    public static final int CS_DIALING = 5;
    public static final int CS_RINGBACK = 6;
    public static final int CS_BUSY = 7;
    public static final int CS_CONNECTED = 8;
    public static final int CS_PROCEEDING = 9;
    public static final int CS_ONHOLD = 10;
    public static final int CS_DISCONNECTED = 14;
    public static final int CS_REMOTEINUSE = 16;
    public static final int CS_QUEUED = 20;

    // Causes (§8.2): Q.850-like, the values of CiscoCallEv.CAUSE_*.
    public static final int CAUSE_NOERROR = 0;
    public static final int CAUSE_UNALLOCATEDNUMBER = 1;
    public static final int CAUSE_NORMALCALLCLEARING = 16;
    /** CiscoCallEv.CAUSE_CALLMANAGER_FAILURE on an UNKNOWN leg (§8.2). */
    public static final int CAUSE_CALLMANAGER_FAILURE = 508;
    public static final int CAUSE_USERBUSY = 17;
    public static final int CAUSE_NOUSERRESPONDING = 18;
    public static final int CAUSE_NOANSWERFROMUSER = 19;
    public static final int CAUSE_CALLREJECTED = 21;
    public static final int CAUSE_NETWORKOUTOFORDER = 38;
    public static final int CAUSE_TEMPORARYFAILURE = 41;

    // Provider close reasons (§8.3).
    public static final int CLOSE_NONE = 0;
    public static final int CLOSE_HEARTBEAT_MISSED = 1;
    public static final int CLOSE_UNEXPECTEDSHUTDOWN = 2;
    public static final int CLOSE_APPLICATIONREQUEST = 3;
    public static final int CLOSE_PROVIDEROPENFAILURE = 4;
    public static final int CLOSE_ALLOTHER_REASON = 10;
    public static final int CLOSE_LOGINFAILED = 101;
    public static final int CLOSE_INCOMPATIBLEPROTOCOL = 102;
    public static final int CLOSE_USERNOTAUTHORIZEDFORSECURITY = 104;

    // Out-of-service reasons (§8.4) and the JTAPI causes they stand for.
    public static final int OOS_NONE = 0;
    public static final int OOS_CALLMANAGER_FAILURE = 1;
    public static final int OOS_REHOME_TO_HIGHER_PRIORITY_CM = 2;
    public static final int OOS_NOCALLMANAGER_AVAILABLE = 3;
    public static final int OOS_DEVICE_FAILURE = 4;
    public static final int OOS_DEVICE_UNREGISTERED = 5;
    public static final int OOS_ENERGYWISE_POWER_SAVE_PLUS = 6;
    public static final int OOS_CTIMANAGER_FAILURE = 257;

    /** Maps a CiscoOutOfServiceEv cause (1001…1010) to the wire's OutOfServiceReason. */
    public static int oosReasonFromJtapi(int cause) {
        switch (cause) {
            case 1001: return OOS_CALLMANAGER_FAILURE;
            case 1002: return OOS_REHOME_TO_HIGHER_PRIORITY_CM;
            case 1003: return OOS_NOCALLMANAGER_AVAILABLE;
            case 1004: return OOS_DEVICE_FAILURE;
            case 1005: return OOS_DEVICE_UNREGISTERED;
            case 1007: return OOS_CTIMANAGER_FAILURE;
            case 1010: return OOS_ENERGYWISE_POWER_SAVE_PLUS;
            default: return OOS_NONE; // REHOMING_FAILURE, DEVICE/LINE_RESTRICTED: no wire value (docs/gateway.md)
        }
    }

    // Connection reasons (§8.5): CiscoConnection.REASON_* values.
    public static final int REASON_UNKNOWN = 0;
    public static final int REASON_DIRECTCALL = 1;
    public static final int REASON_TRANSFERREDCALL = 2;
    public static final int REASON_REDIRECT = 6;

    // Request results (§8.7).
    public static final int RESULT_OK = 0;
    public static final int RESULT_UNKNOWN_DEVICE = 1;
    public static final int RESULT_NOT_IN_CONTROL_LIST = 2;
    public static final int RESULT_INVALID_STATE = 3;
    public static final int RESULT_MEDIA_CAPABILITY_MISMATCH = 4;
    public static final int RESULT_ALREADY_REGISTERED = 5;
    public static final int RESULT_NOT_OPEN = 6;
    public static final int RESULT_INVALID_REQUEST = 7;
    public static final int RESULT_UNKNOWN_ROUTE_SESSION = 8;

    // Error codes (§8.8).
    public static final int ERR_MALFORMED = 1;
    public static final int ERR_UNKNOWN_TYPE = 2;
    public static final int ERR_INVALID_MESSAGE = 3;
    public static final int ERR_FRAME_TOO_LARGE = 4;
    public static final int ERR_VERSION = 5;
    public static final int ERR_NOT_OPEN = 6;
    public static final int ERR_UNEXPECTED = 7;
    public static final int ERR_BAD_MAGIC = 8;

    // Registration reasons (§8.9).
    public static final int REG_UNKNOWN = 0;

    // Device types (§8.6).
    public static final String DEVICE_PHONE = "phone";
    public static final String DEVICE_CTIPORT = "ctiport";
    public static final String DEVICE_ROUTEPOINT = "routepoint";

    // Route kinds (§8.10) and media kinds (§8.11).
    public static final String ROUTE_ROUTE = "route";
    public static final String ROUTE_REROUTE = "reroute";
    public static final String ROUTE_USED = "used";
    public static final String ROUTE_END = "end";
    public static final String MEDIA_OPEN_LOGICAL_CHANNEL = "openLogicalChannel";
    public static final String MEDIA_RTP_INPUT_STARTED = "rtpInputStarted";
    public static final String MEDIA_RTP_OUTPUT_STARTED = "rtpOutputStarted";
    public static final String MEDIA_RTP_INPUT_STOPPED = "rtpInputStopped";
    public static final String MEDIA_RTP_OUTPUT_STOPPED = "rtpOutputStopped";
    public static final String FEATURE_TRANSFER = "transfer";
    public static final String FEATURE_CONFERENCE = "conference";
}
