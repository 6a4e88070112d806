package org.ctibridge.gateway.jtapi;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.telephony.Address;
import javax.telephony.Call;
import javax.telephony.Connection;
import javax.telephony.Terminal;
import javax.telephony.TerminalConnection;
import javax.telephony.callcontrol.CallControlCall;
import javax.telephony.callcontrol.CallControlConnection;
import javax.telephony.callcontrol.CallControlTerminalConnection;
import javax.telephony.callcontrol.events.CallCtlConnAlertingEv;
import javax.telephony.callcontrol.events.CallCtlConnDialingEv;
import javax.telephony.callcontrol.events.CallCtlConnDisconnectedEv;
import javax.telephony.callcontrol.events.CallCtlConnEstablishedEv;
import javax.telephony.callcontrol.events.CallCtlConnFailedEv;
import javax.telephony.callcontrol.events.CallCtlConnInitiatedEv;
import javax.telephony.callcontrol.events.CallCtlConnNetworkAlertingEv;
import javax.telephony.callcontrol.events.CallCtlConnNetworkReachedEv;
import javax.telephony.callcontrol.events.CallCtlConnOfferedEv;
import javax.telephony.callcontrol.events.CallCtlConnQueuedEv;
import javax.telephony.callcontrol.events.CallCtlConnUnknownEv;
import javax.telephony.callcontrol.events.CallCtlEv;
import javax.telephony.callcontrol.events.CallCtlTermConnBridgedEv;
import javax.telephony.callcontrol.events.CallCtlTermConnDroppedEv;
import javax.telephony.callcontrol.events.CallCtlTermConnHeldEv;
import javax.telephony.callcontrol.events.CallCtlTermConnInUseEv;
import javax.telephony.callcontrol.events.CallCtlTermConnRingingEv;
import javax.telephony.callcontrol.events.CallCtlTermConnTalkingEv;
import javax.telephony.callcontrol.events.CallCtlTermConnUnknownEv;
import javax.telephony.events.CallEv;
import javax.telephony.events.CallInvalidEv;
import javax.telephony.events.CallObservationEndedEv;
import javax.telephony.events.ConnCreatedEv;
import javax.telephony.events.ConnEv;
import javax.telephony.events.Ev;
import javax.telephony.events.TermConnEv;

import com.cisco.jtapi.extensions.CiscoCall;
import com.cisco.jtapi.extensions.CiscoCallChangedEv;
import com.cisco.jtapi.extensions.CiscoCallEv;
import com.cisco.jtapi.extensions.CiscoConferenceEndEv;
import com.cisco.jtapi.extensions.CiscoConferenceStartEv;
import com.cisco.jtapi.extensions.CiscoConnection;
import com.cisco.jtapi.extensions.CiscoTransferEndEv;
import com.cisco.jtapi.extensions.CiscoTransferStartEv;

import org.ctibridge.gateway.link.Link;
import org.ctibridge.gateway.link.Out;

/**
 * Turns the JTAPI call events a call observer receives into the link's line-level call
 * events (docs/protocol.md §7.2 CallState, Feature, CallChanged, CallParty). This is the
 * reverse of what the bridge's engine does (pkg/ctiengine/callmodel): the engine derives
 * Connection and TerminalConnection events from line states; the gateway derives a
 * line's state from its Connection, its TerminalConnection on the line's device and, for
 * the line that placed the call, the far party's Connection. docs/gateway.md §"What maps
 * to what" has the table.
 *
 * <p>After every event the line states of the call's observed lines are derived again;
 * a CallState goes out when a line's view (state, cause, reason, origin, parties)
 * changed. So the order of the link events follows the order of the JTAPI events, and a
 * JTAPI event that changes nothing a line can show (a core event, TermConnCreatedEv, a
 * TerminalConnection becoming active on an established connection) sends nothing.
 *
 * <p>Not thread-safe by itself: {@link ProviderSession} calls it under its lock, from the
 * JTAPI event thread and from the request worker (snapshots).
 */
final class CallTracker {
    /** Where derived link messages go. */
    interface Sink {
        void send(Out msg);
    }

    /** What the tracker needs to know about the session's observation. */
    interface Lines {
        /** Devices whose line dn is open in this session. */
        List<String> openDevices(String dn);

        /** The device of an address known to the provider, or "" (external party). */
        String deviceOf(Address a);

        /** The CallManager name of a JTAPI CallManager id (docs/gateway.md, callManagers). */
        String callManagerName(int id);

        /** Current time in Unix nanoseconds. */
        long nowNs();
    }

    private final Lines lines;
    private final Sink sink;
    private final Map<Call, TCall> calls = new IdentityHashMap<>();
    private long lastHandle;

    CallTracker(Lines lines, Sink sink) {
        this.lines = lines;
        this.sink = sink;
    }

    /** A line's view of its leg: what a CallState carries, minus ids and time. */
    record View(int state, int cause, int reason, boolean origin, Map<String, Object> calling,
            Map<String, Object> called, Map<String, Object> curCalling, Map<String, Object> curCalled,
            Map<String, Object> lastRedir) {}

    /** Feature in progress between a Start and an End event. */
    private static final class Feature {
        final String kind;
        final TCall primary; // the final (surviving) call
        final TCall consult; // the call that merges into it
        final String controllerDn;
        final String controllerDevice;
        final boolean blind;
        /** The lines of both calls when the feature started (FeatureEvent.parties). */
        final List<Map<String, Object>> parties;

        Feature(String kind, TCall primary, TCall consult, String controllerDn, String controllerDevice,
                boolean blind, List<Map<String, Object>> parties) {
            this.kind = kind;
            this.primary = primary;
            this.consult = consult;
            this.controllerDn = controllerDn;
            this.controllerDevice = controllerDevice;
            this.blind = blind;
            this.parties = parties;
        }
    }

    private static final class TCall {
        final Call call;
        int gcid;
        String cm = "";
        final List<TConn> conns = new ArrayList<>();
        Map<String, Object> calling = Map.of(), called = Map.of(), lastRedir = Map.of();
        Feature feature;
        boolean ended;

        TCall(Call call) {
            this.call = call;
        }
    }

    private static final class TConn {
        final Connection conn;
        final String dn;
        final Address addr;
        int cc = CallControlConnection.IDLE;
        int cause;
        boolean origin;
        int reason;
        long handle;
        /** CallControlTerminalConnection state per terminal name. */
        final Map<String, Integer> tc = new LinkedHashMap<>();
        /** The cause a terminal connection was dropped with, per terminal name. */
        final Map<String, Integer> tcCause = new LinkedHashMap<>();
        /** Last view sent per device (line views). */
        final Map<String, View> sent = new LinkedHashMap<>();
        /** Moved into another call by a transfer or conference: its disconnect here is not a line's. */
        boolean moved;
        /** Moved here from another call; reported once the feature that moved it ends. */
        boolean movedIn;
        /**
         * A leg a conference moved here keeps describing how it joined (the added party
         * was called by the controller): its parties, not the surviving call's. A
         * transferred leg takes the surviving call's parties (docs/protocol.md §12).
         */
        View ownParties;
        /** Whether the line reported this leg in this call (see movedIn). */
        boolean reportedHere;
        /** A transient party (calling-party transformation mask): reported as CallParty. */
        boolean transientParty;
        /**
         * The Connection was ever in a live state. One that fails without (a busy called
         * party: JTAPI's failed call, G15-1028) was never the line's leg: the busy line is
         * not in the call, and gets nothing (docs/protocol.md §12 busy).
         */
        boolean everLive;

        TConn(Connection conn, Address addr) {
            this.conn = conn;
            this.addr = addr;
            this.dn = addr != null && addr.getName() != null ? addr.getName() : "";
        }

        boolean live() {
            return cc != CallControlConnection.DISCONNECTED && cc != CallControlConnection.IDLE && !moved;
        }
    }

    /** Processes one batch of call events, in order. */
    void onCallEvents(CallEv[] evs) {
        for (CallEv ev : evs) {
            onCallEvent(ev);
        }
    }

    private void onCallEvent(CallEv ev) {
        Call call = ev.getCall();
        if (call == null) {
            return;
        }
        if (ev instanceof CallObservationEndedEv) {
            // Observation ended (the provider is going out of service, or the last
            // observed address left the call): the call is forgotten; the bridge's
            // engine reports the observation end itself when the link closes.
            calls.remove(call);
            return;
        }
        TCall tc = calls.computeIfAbsent(call, this::newCall);
        boolean snapshot = ev.getMetaCode() == Ev.META_SNAPSHOT || ev.getCause() == Ev.CAUSE_SNAPSHOT;
        TConn touched = null;
        if (ev instanceof CiscoTransferStartEv ts) {
            startFeature(Link.FEATURE_TRANSFER, ts.getFinalCall(), ts.getTransferredCall(),
                    ts.getTransferControllerAddress(), ts.getControllerTerminalName());
        } else if (ev instanceof CiscoConferenceStartEv cs) {
            startFeature(Link.FEATURE_CONFERENCE, cs.getFinalCall(), cs.getConferencedCall(),
                    cs.getConferenceControllerAddress(), cs.getControllerTerminalName());
        } else if (ev instanceof CiscoTransferEndEv te) {
            endFeature(Link.FEATURE_TRANSFER, te.getFinalCall(), tc, te.isSuccess());
            return;
        } else if (ev instanceof CiscoConferenceEndEv ce) {
            endFeature(Link.FEATURE_CONFERENCE, ce.getFinalCall(), tc, ce.isSuccess());
            return;
        } else if (ev instanceof CiscoCallChangedEv cc) {
            callChanged(cc);
            return;
        } else if (ev instanceof ConnEv cev) {
            touched = connEvent(tc, cev);
        } else if (ev instanceof TermConnEv tev) {
            touched = termConnEvent(tc, tev);
        } else if (ev instanceof CallInvalidEv) {
            tc.ended = true;
        }
        if (snapshot) {
            // Snapshot events (cause SNAPSHOT) describe calls that existed when an
            // observer was added: they feed the model silently; the bridge asks for
            // them with a SnapshotRequest and gets them from the model then.
            seal(tc);
        } else {
            derive(tc, touched, ev);
        }
        if (tc.ended && tc.conns.stream().noneMatch(TConn::live)) {
            calls.remove(call);
        }
    }

    private TCall newCall(Call call) {
        TCall t = new TCall(call);
        if (call instanceof CiscoCall cc && cc.getCallID() != null) {
            t.gcid = cc.getCallID().getGlobalCallID();
            t.cm = lines.callManagerName(cc.getCallID().getCallManagerID());
        }
        return t;
    }

    /**
     * Reads the call's parties from the Call (CallControlCall: calling, called, last
     * redirected). JTAPI updates them before it delivers the event that reflects the
     * change; an empty value does not erase a known one.
     */
    private void readParties(TCall t) {
        if (!(t.call instanceof CallControlCall ccc)) {
            return;
        }
        Map<String, Object> p = party(ccc.getCallingAddress());
        if (!p.isEmpty()) {
            t.calling = p;
        }
        p = party(ccc.getCalledAddress());
        if (!p.isEmpty()) {
            t.called = p;
        }
        p = party(ccc.getLastRedirectedAddress());
        if (!p.isEmpty()) {
            t.lastRedir = p;
        }
    }

    private Map<String, Object> party(Address a) {
        if (a == null || a.getName() == null || a.getName().isEmpty()) {
            return Map.of();
        }
        return Out.party(a.getName(), lines.deviceOf(a));
    }

    private TConn conn(TCall t, Connection c) {
        for (TConn x : t.conns) {
            if (x.conn == c) {
                return x;
            }
        }
        TConn x = new TConn(c, c.getAddress());
        x.handle = ++lastHandle;
        if (c instanceof CiscoConnection cc) {
            x.reason = reason(cc.getReason());
        }
        t.conns.add(x);
        if (t.feature != null && t.feature.primary == t) {
            moveIn(t.feature, x);
        }
        return x;
    }

    /**
     * A Connection created in the final call while a transfer or conference is in
     * progress, for an address with a live Connection in the consult call, is that leg
     * moving (the guide's Table 8: the destination is created in Call1 before it is
     * dropped from Call2). The link says so with CallChanged, at once: the leg keeps its
     * call handle, its disconnect from the consult call is not a hang-up, and the line
     * reports its leg in the final call when the feature ends (docs/protocol.md §12).
     */
    private void moveIn(Feature f, TConn x) {
        for (TConn o : f.consult.conns) {
            if (o == x || o.moved || !o.live() || !o.dn.equals(x.dn) || o.dn.equals(f.controllerDn)) {
                continue;
            }
            o.moved = true;
            x.handle = o.handle;
            x.movedIn = true;
            if (Link.FEATURE_CONFERENCE.equals(f.kind) && !o.sent.isEmpty()) {
                x.ownParties = o.sent.values().iterator().next();
            }
            x.sent.putAll(o.sent);
            o.sent.clear();
            for (String dev : lines.openDevices(x.dn)) {
                sink.send(Out.of(Link.CALL_CHANGED).put("device", dev).put("line", x.dn)
                        .put("originalCallId", (long) f.consult.gcid).put("survivingCallId", (long) f.primary.gcid)
                        .put("callHandle", x.handle).put("timeNs", lines.nowNs()));
            }
            return;
        }
    }

    private TConn connEvent(TCall t, ConnEv ev) {
        Connection c = ev.getConnection();
        if (c == null) {
            return null;
        }
        TConn x = conn(t, c);
        if (ev instanceof ConnCreatedEv) {
            noteTransient(t, x);
            return x;
        }
        int cc = -1;
        if (ev instanceof CallCtlConnInitiatedEv) {
            cc = CallControlConnection.INITIATED;
        } else if (ev instanceof CallCtlConnDialingEv) {
            cc = CallControlConnection.DIALING;
        } else if (ev instanceof CallCtlConnNetworkReachedEv) {
            cc = CallControlConnection.NETWORK_REACHED;
        } else if (ev instanceof CallCtlConnNetworkAlertingEv) {
            cc = CallControlConnection.NETWORK_ALERTING;
        } else if (ev instanceof CallCtlConnOfferedEv) {
            cc = CallControlConnection.OFFERED;
        } else if (ev instanceof CallCtlConnQueuedEv) {
            cc = CallControlConnection.QUEUED;
        } else if (ev instanceof CallCtlConnAlertingEv) {
            cc = CallControlConnection.ALERTING;
        } else if (ev instanceof CallCtlConnEstablishedEv) {
            cc = CallControlConnection.ESTABLISHED;
        } else if (ev instanceof CallCtlConnFailedEv) {
            cc = CallControlConnection.FAILED;
        } else if (ev instanceof CallCtlConnDisconnectedEv) {
            cc = CallControlConnection.DISCONNECTED;
        } else if (ev instanceof CallCtlConnUnknownEv) {
            cc = CallControlConnection.UNKNOWN;
        }
        if (cc < 0) {
            return x; // a core event: the call-control event that follows carries the state
        }
        if (cc == CallControlConnection.INITIATED || cc == CallControlConnection.DIALING
                || cc == CallControlConnection.NETWORK_REACHED || cc == CallControlConnection.NETWORK_ALERTING) {
            x.origin = true;
        }
        x.cc = cc;
        x.everLive |= liveState(cc);
        x.cause = causeOf(ev);
        if (c instanceof CiscoConnection ci) {
            x.reason = reason(ci.getReason());
        }
        return x;
    }

    private TConn termConnEvent(TCall t, TermConnEv ev) {
        TerminalConnection tcn = ev.getTerminalConnection();
        if (tcn == null || tcn.getConnection() == null) {
            return null;
        }
        TConn x = conn(t, tcn.getConnection());
        Terminal term = tcn.getTerminal();
        String name = term != null ? term.getName() : "";
        int st = -1;
        if (ev instanceof CallCtlTermConnRingingEv) {
            st = CallControlTerminalConnection.RINGING;
        } else if (ev instanceof CallCtlTermConnTalkingEv) {
            st = CallControlTerminalConnection.TALKING;
        } else if (ev instanceof CallCtlTermConnHeldEv) {
            st = CallControlTerminalConnection.HELD;
        } else if (ev instanceof CallCtlTermConnBridgedEv) {
            st = CallControlTerminalConnection.BRIDGED;
        } else if (ev instanceof CallCtlTermConnInUseEv) {
            st = CallControlTerminalConnection.INUSE;
        } else if (ev instanceof CallCtlTermConnDroppedEv) {
            st = CallControlTerminalConnection.DROPPED;
        } else if (ev instanceof CallCtlTermConnUnknownEv) {
            st = CallControlTerminalConnection.UNKNOWN;
        }
        if (st >= 0) {
            x.tc.put(name, st);
            if (st == CallControlTerminalConnection.DROPPED) {
                x.tcCause.put(name, causeOf(ev));
            }
        } else {
            x.tc.putIfAbsent(name, CallControlTerminalConnection.IDLE);
        }
        return x;
    }

    /**
     * A Connection for an address outside the provider that is the call's current
     * calling party but not its calling party is the masked number of a calling-party
     * transformation (jtapi-facts §15, Cisco JTAPI guide "calling party transformation"):
     * JTAPI creates it and drops it again; the link reports it as a transient CallParty.
     */
    private void noteTransient(TCall t, TConn x) {
        if (x.addr == null || !lines.deviceOf(x.addr).isEmpty() || !(t.call instanceof CiscoCall cc)) {
            return;
        }
        Address cur = cc.getCurrentCallingAddress();
        Address calling = t.call instanceof CallControlCall ccc ? ccc.getCallingAddress() : null;
        if (cur != null && calling != null && x.dn.equals(cur.getName()) && !x.dn.equals(calling.getName())) {
            x.transientParty = true;
        }
    }

    private static boolean liveState(int cc) {
        return cc != CallControlConnection.IDLE && cc != CallControlConnection.FAILED
                && cc != CallControlConnection.DISCONNECTED;
    }

    /** CiscoConnection.getReason() as the wire's 8-bit ConnReason (0 when it does not fit). */
    private static int reason(int r) {
        return r >= 0 && r <= 0xff ? r : Link.REASON_UNKNOWN;
    }

    private static int causeOf(Ev ev) {
        if (ev instanceof CiscoCallEv c) {
            int cause = c.getCiscoCause();
            // The wire's cause is 16 bits (protocol §8.2); Cisco's SIP-derived causes are
            // wider: they become NORMALUNSPECIFIED (31).
            return cause >= 0 && cause <= 0xffff ? cause : 31;
        }
        // Not a Cisco event (another JTAPI implementation): map the JTAPI causes back.
        int cc = ev instanceof CallCtlEv c ? c.getCallControlCause() : 0;
        switch (cc) {
            case CallCtlEv.CAUSE_BUSY: return Link.CAUSE_USERBUSY;
            case CallCtlEv.CAUSE_CALL_NOT_ANSWERED: return Link.CAUSE_NOANSWERFROMUSER;
            default: break;
        }
        switch (ev.getCause()) {
            case Ev.CAUSE_NORMAL: return Link.CAUSE_NORMALCALLCLEARING;
            case Ev.CAUSE_DEST_NOT_OBTAINABLE: return Link.CAUSE_UNALLOCATEDNUMBER;
            case Ev.CAUSE_CALL_CANCELLED: return Link.CAUSE_CALLREJECTED;
            case Ev.CAUSE_NETWORK_NOT_OBTAINABLE: return Link.CAUSE_TEMPORARYFAILURE;
            default: return Link.CAUSE_NOERROR;
        }
    }

    private TCall tracked(Call c) {
        return c == null ? null : calls.computeIfAbsent(c, this::newCall);
    }

    private void startFeature(String kind, Call fin, Call other, Address controller, String controllerDevice) {
        TCall primary = tracked(fin);
        TCall consult = tracked(other);
        if (primary == null || consult == null) {
            return;
        }
        if (primary.feature != null && primary.feature.consult == consult) {
            return; // the same Start delivered on the other call
        }
        String dn = controller != null ? controller.getName() : "";
        String dev = controllerDevice != null ? controllerDevice : "";
        if (dev.isEmpty() && controller != null) {
            dev = lines.deviceOf(controller);
        }
        boolean blind = false;
        for (TConn x : consult.conns) {
            if (!x.dn.equals(dn) && x.live() && x.cc != CallControlConnection.ESTABLISHED) {
                blind = true; // completed while the target is still ringing
            }
        }
        // The lines of both calls, the final call's first (as the guide names them: A, B,
        // then C): JTAPI delivers the feature's events to the observers of every one.
        List<Map<String, Object>> parties = new ArrayList<>();
        List<String> dns = new ArrayList<>();
        for (TCall c : List.of(primary, consult)) {
            for (TConn x : c.conns) {
                if (x.transientParty || x.dn.isEmpty() || dns.contains(x.dn) || parties.size() == MAX_FEATURE_PARTIES) {
                    continue;
                }
                dns.add(x.dn);
                parties.add(x.addr != null ? party(x.addr) : Out.party(x.dn, ""));
            }
        }
        if (!dn.isEmpty() && !dns.contains(dn) && parties.size() < MAX_FEATURE_PARTIES) {
            parties.add(Out.party(dn, dev));
        }
        Feature f = new Feature(kind, primary, consult, dn, dev, blind, parties);
        primary.feature = f;
        consult.feature = f;
        if (concernsSession(f)) {
            sink.send(featureMessage(f, true, true));
        }
    }

    /** At most this many parties in a Feature message (ctilink.MaxFeatureParties). */
    private static final int MAX_FEATURE_PARTIES = 16;

    /** Whether this session opened the controller's line or any line of the feature. */
    private boolean concernsSession(Feature f) {
        if (!lines.openDevices(f.controllerDn).isEmpty()) {
            return true;
        }
        for (Map<String, Object> p : f.parties) {
            if (!lines.openDevices((String) p.get("dn")).isEmpty()) {
                return true;
            }
        }
        return false;
    }

    private void endFeature(String kind, Call fin, TCall on, boolean success) {
        TCall primary = fin != null ? calls.get(fin) : null;
        Feature f = primary != null ? primary.feature : on.feature;
        if (f == null || !f.kind.equals(kind)) {
            return; // already ended (the End delivered on the other call), or never started
        }
        f.primary.feature = null;
        f.consult.feature = null;
        if (success) {
            // Once the feature completed, each line of the final call but the
            // controller's reports its leg there, with the parties the feature gave it
            // (docs/protocol.md §12: "A CONNECTED (currentCalled=C), C CONNECTED").
            ending = f;
            try {
                derive(f.primary, null, null);
            } finally {
                ending = null;
            }
        }
        if (concernsSession(f)) {
            sink.send(featureMessage(f, false, success));
        }
        if (f.consult.ended && f.consult.conns.stream().noneMatch(TConn::live)) {
            calls.remove(f.consult.call);
        }
    }

    private Out featureMessage(Feature f, boolean started, boolean success) {
        Out o = Out.of(Link.FEATURE).put("feature", f.kind).put("started", started)
                .put("device", f.controllerDevice).put("line", f.controllerDn)
                .put("primaryCallId", (long) f.primary.gcid).put("consultCallId", (long) f.consult.gcid);
        if (!started) {
            o.put("resultCallId", (long) f.primary.gcid);
        }
        o.opt("blind", f.blind && Link.FEATURE_TRANSFER.equals(f.kind));
        Map<String, Object> transferred = Map.of();
        if (Link.FEATURE_TRANSFER.equals(f.kind)) {
            for (TConn x : f.primary.conns) {
                if (!x.dn.equals(f.controllerDn) && !x.transientParty) {
                    transferred = Out.party(x.dn, x.addr != null ? lines.deviceOf(x.addr) : "");
                    break;
                }
            }
        }
        o.put("transferredParty", transferred).put("timeNs", lines.nowNs());
        if (!f.parties.isEmpty()) {
            o.put("parties", f.parties);
        }
        return o.opt("failed", !started && !success);
    }

    private void callChanged(CiscoCallChangedEv ev) {
        TCall from = tracked(ev.getOriginalCall());
        TCall to = tracked(ev.getSurvivingCall());
        Connection moved = ev.getConnection();
        if (from == null || to == null || moved == null || moved.getAddress() == null) {
            return;
        }
        String dn = moved.getAddress().getName();
        TConn old = null;
        for (TConn x : from.conns) {
            if (x.dn.equals(dn) && !x.moved) {
                old = x;
            }
        }
        if (old == null) {
            return;
        }
        old.moved = true;
        for (String dev : lines.openDevices(dn)) {
            sink.send(Out.of(Link.CALL_CHANGED).put("device", dev).put("line", dn)
                    .put("originalCallId", (long) from.gcid).put("survivingCallId", (long) to.gcid)
                    .put("callHandle", old.handle).put("timeNs", lines.nowNs()));
        }
    }

    /** Marks every line view of the call as sent, without sending (snapshot feeding). */
    private void seal(TCall t) {
        readParties(t);
        for (TConn x : t.conns) {
            for (String dev : lines.openDevices(x.dn)) {
                View v = view(t, x, dev, x.sent.get(dev));
                if (v != null) {
                    x.sent.put(dev, v);
                }
            }
        }
    }

    /**
     * Derives the line views of the call again and sends what changed: first the
     * connection the event concerned, then the others in creation order (the far party's
     * change is what makes the originating line go RINGBACK or CONNECTED).
     */
    private void derive(TCall t, TConn first, Ev ev) {
        readParties(t);
        if (first != null) {
            deriveConn(t, first);
        }
        for (TConn x : new ArrayList<>(t.conns)) {
            if (x != first) {
                deriveConn(t, x);
            }
        }
    }

    private void deriveConn(TCall t, TConn x) {
        if (x.transientParty) {
            transientParty(t, x);
            return;
        }
        if (x.moved || (x.movedIn && t.feature != null)) {
            // Moved away, or moved in by a transfer or conference still in progress: the
            // line reports its leg in the surviving call when the feature ends, with the
            // parties the feature gave it (the simulator's order, docs/protocol.md §12).
            return;
        }
        if (t.feature != null && t.feature.primary == t && !x.dn.equals(t.feature.controllerDn)
                && x.cc != CallControlConnection.DISCONNECTED) {
            // While the feature runs, the final call's other parties keep what they show
            // (a far party leaving and joining is the feature, not a ringback or a
            // reconnect); they report their leg when it ends.
            return;
        }
        for (String dev : lines.openDevices(x.dn)) {
            View last = x.sent.get(dev);
            if (last != null && (last.state == Link.CS_DISCONNECTED
                    || (last.state == Link.CS_UNKNOWN && last.cause == Link.CAUSE_CALLMANAGER_FAILURE))) {
                continue; // a leg's last word (a leg lost to a CallManager failure gets nothing more)
            }
            View v = view(t, x, dev, last);
            // A leg moved in by a transfer or conference is reported in the surviving
            // call once the feature ended, as is every other leg there but the
            // controller's, even unchanged (§12: "A CONNECTED (currentCalled=C), C
            // CONNECTED (call1)").
            boolean again = (x.movedIn && !x.reportedHere)
                    || (ending != null && ending.primary == t && !x.dn.equals(ending.controllerDn));
            if (v == null || (v.equals(last) && !again)) {
                continue;
            }
            // A line reports a change of its state; the parties travel with it. Parties
            // that change without a state change (a transfer completed) are reported when
            // the feature ends.
            boolean stateChanged = last == null || last.state != v.state || last.cause != v.cause
                    || last.reason != v.reason || last.origin != v.origin;
            if (!stateChanged && !again) {
                continue;
            }
            x.reportedHere = true;
            x.sent.put(dev, v);
            sink.send(callState(t, x, dev, v, false));
        }
    }

    /** Set while the end of a completed feature is derived (see deriveConn). */
    private Feature ending;

    private void transientParty(TCall t, TConn x) {
        boolean live = x.live();
        String key = "party";
        View last = x.sent.get(key);
        boolean wasAdded = last != null && last.state == Link.CS_CONNECTED;
        if (live == wasAdded || (!live && last == null)) {
            return;
        }
        x.sent.put(key, new View(live ? Link.CS_CONNECTED : Link.CS_DISCONNECTED, 0, 0, false, Map.of(), Map.of(),
                Map.of(), Map.of(), Map.of()));
        for (TConn line : t.conns) {
            if (line == x || line.transientParty || !line.origin) {
                continue;
            }
            for (String dev : lines.openDevices(line.dn)) {
                sink.send(Out.of(Link.CALL_PARTY).put("device", dev).put("line", line.dn)
                        .put("globalCallId", (long) t.gcid).put("party", Out.party(x.dn, ""))
                        .put("added", live).put("transient", true).put("timeNs", lines.nowNs()));
            }
        }
    }

    /** The view of line x on device dev, or null when JTAPI's states say nothing a line shows. */
    private View view(TCall t, TConn x, String dev, View last) {
        if (!x.everLive) {
            return null; // not the line's leg (see everLive)
        }
        Integer tcs = x.tc.get(dev);
        int tc = tcs != null ? tcs : -1;
        int st;
        int cause = Link.CAUSE_NOERROR;
        switch (x.cc) {
            case CallControlConnection.INITIATED:
                st = Link.CS_DIALTONE;
                break;
            case CallControlConnection.DIALING:
                st = Link.CS_DIALING;
                break;
            case CallControlConnection.NETWORK_REACHED:
                st = Link.CS_PROCEEDING;
                break;
            case CallControlConnection.NETWORK_ALERTING:
                st = Link.CS_RINGBACK;
                break;
            case CallControlConnection.OFFERED:
                st = Link.CS_OFFERING;
                break;
            case CallControlConnection.QUEUED:
                st = Link.CS_QUEUED;
                break;
            case CallControlConnection.ALERTING:
                st = Link.CS_ACCEPTED;
                break;
            case CallControlConnection.ESTABLISHED:
                if (tc == CallControlTerminalConnection.HELD) {
                    st = Link.CS_ONHOLD;
                } else if (tc == CallControlTerminalConnection.INUSE || tc == CallControlTerminalConnection.BRIDGED) {
                    st = Link.CS_REMOTEINUSE;
                } else if (tc == CallControlTerminalConnection.DROPPED) {
                    if (!otherTerminalLive(x, dev)) {
                        return null; // dropping: the Connection's disconnect follows
                    }
                    // One appearance of a shared line leaves while others stay: its line's
                    // leg ends now (the Connection stays for the others).
                    st = Link.CS_DISCONNECTED;
                    cause = x.tcCause.getOrDefault(dev, Link.CAUSE_NORMALCALLCLEARING);
                } else if (x.tc.size() > 1 && tc != CallControlTerminalConnection.TALKING) {
                    // A shared line answered: this appearance's TerminalConnection tells
                    // next whether it is the one talking or in use elsewhere.
                    return null;
                } else if (x.origin) {
                    int[] far = farState(t, x, last);
                    if (far == null) {
                        return null;
                    }
                    st = far[0];
                    cause = far[1];
                } else {
                    st = Link.CS_CONNECTED;
                }
                break;
            case CallControlConnection.FAILED:
                st = Link.CS_BUSY;
                cause = x.cause;
                break;
            case CallControlConnection.DISCONNECTED:
                st = Link.CS_DISCONNECTED;
                cause = x.cause;
                break;
            case CallControlConnection.UNKNOWN:
                st = Link.CS_UNKNOWN;
                cause = x.cause; // e.g. CALLMANAGER_FAILURE 508: the leg is lost to CTI
                break;
            default:
                return null;
        }
        if (last != null && last.state == Link.CS_BUSY && st == Link.CS_DISCONNECTED && cause == Link.CAUSE_NOERROR) {
            cause = last.cause;
        }
        Map<String, Object> curCalling = t.calling;
        Map<String, Object> curCalled = t.called;
        if (t.call instanceof CiscoCall cc) {
            Map<String, Object> p = party(cc.getCurrentCallingAddress());
            if (!p.isEmpty()) {
                curCalling = p;
            }
            p = party(cc.getCurrentCalledAddress());
            if (!p.isEmpty()) {
                curCalled = p;
            }
        }
        if (x.ownParties != null) {
            View p = x.ownParties;
            return new View(st, cause, x.reason, x.origin, p.calling, p.called, p.curCalling, p.curCalled, p.lastRedir);
        }
        return new View(st, cause, x.reason, x.origin, own(t.calling, x, dev), t.called, own(curCalling, x, dev),
                own(curCalled, x, dev), t.lastRedir);
    }

    /**
     * A party naming the line's own number names the line's device: on a shared line the
     * appearance of this leg, not the first terminal JTAPI lists for the address. The
     * original called party stays as JTAPI gives it (the call was addressed to the
     * number).
     */
    private static Map<String, Object> own(Map<String, Object> party, TConn x, String dev) {
        if (party.isEmpty() || !x.dn.equals(party.get("dn")) || dev.equals(party.get("device"))) {
            return party;
        }
        return Out.party(x.dn, dev);
    }

    private static boolean otherTerminalLive(TConn x, String dev) {
        for (Map.Entry<String, Integer> e : x.tc.entrySet()) {
            if (!e.getKey().equals(dev) && e.getValue() != CallControlTerminalConnection.DROPPED) {
                return true;
            }
        }
        return false;
    }

    /**
     * The originating line's state while its Connection is ESTABLISHED: JTAPI establishes
     * it as soon as the call is routed to a party it observes (jtapi-facts §12), so
     * whether the far end rings, answered or is busy is read from the far Connection.
     */
    private int[] farState(TCall t, TConn x, View last) {
        boolean any = false;
        int[] best = null;
        for (TConn o : t.conns) {
            if (o == x || o.transientParty || o.moved) {
                continue;
            }
            int s;
            switch (o.cc) {
                case CallControlConnection.ESTABLISHED:
                    if (!o.tc.containsValue(CallControlTerminalConnection.RINGING)) {
                        return new int[] {Link.CS_CONNECTED, Link.CAUSE_NOERROR};
                    }
                    // Answered, but a terminal still rings (its TerminalConnection events
                    // follow): the far end is connected once they are in.
                    s = Link.CS_RINGBACK;
                    break;
                case CallControlConnection.FAILED:
                    s = Link.CS_BUSY;
                    break;
                case CallControlConnection.ALERTING:
                    s = Link.CS_RINGBACK;
                    break;
                case CallControlConnection.OFFERED:
                case CallControlConnection.QUEUED:
                case CallControlConnection.IDLE:
                    s = Link.CS_PROCEEDING;
                    break;
                default:
                    continue; // disconnected or unknown
            }
            any = true;
            int[] cand = new int[] {s, s == Link.CS_BUSY ? (o.cause != 0 ? o.cause : Link.CAUSE_USERBUSY) : 0};
            if (best == null || rank(cand[0]) > rank(best[0])) {
                best = cand;
            }
        }
        if (any) {
            return best;
        }
        // No far party yet: just routed (PROCEEDING) — unless the line was further on and
        // the far party is being replaced (a transfer in progress): then keep its state.
        if (last == null || last.state == Link.CS_DIALTONE || last.state == Link.CS_DIALING) {
            return new int[] {Link.CS_PROCEEDING, 0};
        }
        return null;
    }

    private static int rank(int st) {
        switch (st) {
            case Link.CS_BUSY: return 3;
            case Link.CS_RINGBACK: return 2;
            default: return 1;
        }
    }

    private Out callState(TCall t, TConn x, String dev, View v, boolean snapshot) {
        Out o = Out.of(Link.CALL_STATE).put("device", dev).put("line", x.dn).put("callHandle", x.handle)
                .put("globalCallId", (long) t.gcid).opt("callManager", t.cm).put("state", v.state)
                .put("cause", v.cause).put("reason", v.reason).opt("origin", v.origin)
                .put("calling", v.calling).put("called", v.called).put("currentCalling", v.curCalling)
                .put("currentCalled", v.curCalled);
        if (!v.lastRedir.isEmpty()) {
            o.put("lastRedirecting", v.lastRedir);
        }
        return o.opt("snapshot", snapshot).put("timeNs", lines.nowNs());
    }

    /**
     * Answers a SnapshotRequest for device: one snapshot CallState per live leg of its
     * lines, read from the JTAPI object model (Address.getConnections), so that calls
     * JTAPI knows but whose events have not been delivered yet are reported too.
     * Returns the number of CallState messages sent.
     */
    int snapshot(String device, List<Address> addresses) {
        int n = 0;
        for (Address a : addresses) {
            Connection[] conns = a.getConnections();
            if (conns == null) {
                continue;
            }
            for (Connection c : conns) {
                Call call = c.getCall();
                if (call == null) {
                    continue;
                }
                TCall t = importCall(call);
                for (TConn x : t.conns) {
                    if (x.conn != c || !x.live() || x.transientParty || x.cc == CallControlConnection.UNKNOWN) {
                        continue; // UNKNOWN: JTAPI cannot tell (a leg lost to a CallManager failure)
                    }
                    View v = view(t, x, device, x.sent.get(device));
                    if (v == null) {
                        continue;
                    }
                    x.sent.put(device, v);
                    sink.send(callState(t, x, device, v, true));
                    n++;
                }
            }
        }
        return n;
    }

    /** Brings the tracked model of call up to JTAPI's object model (snapshot). */
    private TCall importCall(Call call) {
        TCall t = calls.computeIfAbsent(call, this::newCall);
        readParties(t);
        Connection[] conns = call.getConnections();
        if (conns == null) {
            return t;
        }
        for (Connection c : conns) {
            TConn x = conn(t, c);
            if (c instanceof CallControlConnection cc) {
                x.cc = cc.getCallControlState();
                x.everLive |= liveState(x.cc);
            }
            if (x.cc == CallControlConnection.INITIATED || x.cc == CallControlConnection.DIALING
                    || x.cc == CallControlConnection.NETWORK_REACHED
                    || x.cc == CallControlConnection.NETWORK_ALERTING) {
                x.origin = true;
            } else if (t.calling.get("dn") != null && t.calling.get("dn").equals(x.dn)
                    && x.cc == CallControlConnection.ESTABLISHED) {
                x.origin = true;
            }
            TerminalConnection[] tcs = c.getTerminalConnections();
            if (tcs != null) {
                for (TerminalConnection tcn : tcs) {
                    if (tcn instanceof CallControlTerminalConnection ctc && tcn.getTerminal() != null) {
                        x.tc.put(tcn.getTerminal().getName(), ctc.getCallControlState());
                    }
                }
            }
        }
        return t;
    }

    /** Forgets every call (the provider went away). */
    void clear() {
        calls.clear();
    }

    /** Number of calls tracked (for status and tests). */
    int size() {
        return calls.size();
    }
}
