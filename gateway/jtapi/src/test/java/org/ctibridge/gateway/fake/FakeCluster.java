package org.ctibridge.gateway.fake;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import javax.telephony.Address;
import javax.telephony.Connection;
import javax.telephony.PlatformException;
import javax.telephony.Provider;
import javax.telephony.ProviderUnavailableException;
import javax.telephony.Terminal;
import javax.telephony.TerminalConnection;
import javax.telephony.callcenter.RouteSession;
import javax.telephony.callcenter.events.RouteEndEvent;
import javax.telephony.callcenter.events.RouteEvent;
import javax.telephony.callcenter.events.RouteUsedEvent;
import javax.telephony.callcontrol.CallControlConnection;
import javax.telephony.callcontrol.CallControlTerminalConnection;
import javax.telephony.callcontrol.events.CallCtlConnAlertingEv;
import javax.telephony.callcontrol.events.CallCtlConnDialingEv;
import javax.telephony.callcontrol.events.CallCtlConnDisconnectedEv;
import javax.telephony.callcontrol.events.CallCtlConnEstablishedEv;
import javax.telephony.callcontrol.events.CallCtlConnInitiatedEv;
import javax.telephony.callcontrol.events.CallCtlConnOfferedEv;
import javax.telephony.callcontrol.events.CallCtlEv;
import javax.telephony.callcontrol.events.CallCtlTermConnDroppedEv;
import javax.telephony.callcontrol.events.CallCtlTermConnHeldEv;
import javax.telephony.callcontrol.events.CallCtlTermConnRingingEv;
import javax.telephony.callcontrol.events.CallCtlTermConnTalkingEv;
import javax.telephony.events.CallActiveEv;
import javax.telephony.events.CallInvalidEv;
import javax.telephony.events.CallObservationEndedEv;
import javax.telephony.events.ConnAlertingEv;
import javax.telephony.events.ConnConnectedEv;
import javax.telephony.events.ConnCreatedEv;
import javax.telephony.events.ConnDisconnectedEv;
import javax.telephony.events.ConnInProgressEv;
import javax.telephony.events.Ev;
import javax.telephony.events.ProvOutOfServiceEv;
import javax.telephony.events.TermConnActiveEv;
import javax.telephony.events.TermConnCreatedEv;
import javax.telephony.events.TermConnDroppedEv;

import com.cisco.jtapi.extensions.CiscoAddrInServiceEv;
import com.cisco.jtapi.extensions.CiscoAddrOutOfServiceEv;
import com.cisco.jtapi.extensions.CiscoCallChangedEv;
import com.cisco.jtapi.extensions.CiscoConferenceEndEv;
import com.cisco.jtapi.extensions.CiscoConferenceStartEv;
import com.cisco.jtapi.extensions.CiscoConnection;
import com.cisco.jtapi.extensions.CiscoMediaCapability;
import com.cisco.jtapi.extensions.CiscoRTPInputStartedEv;
import com.cisco.jtapi.extensions.CiscoRTPInputStoppedEv;
import com.cisco.jtapi.extensions.CiscoRTPOutputStartedEv;
import com.cisco.jtapi.extensions.CiscoRTPOutputStoppedEv;
import com.cisco.jtapi.extensions.CiscoRegistrationException;
import com.cisco.jtapi.extensions.CiscoTermInServiceEv;
import com.cisco.jtapi.extensions.CiscoTermOutOfServiceEv;
import com.cisco.jtapi.extensions.CiscoTransferEndEv;
import com.cisco.jtapi.extensions.CiscoTransferStartEv;

import org.ctibridge.gateway.jtapi.ProviderOpener;

/**
 * A JTAPI test double: a scripted CUCM cluster behind Cisco's JTAPI interfaces. It holds
 * devices, lines and calls once for the cluster, and gives every getProvider its own
 * object graph of java.lang.reflect.Proxy objects (Provider, Terminal, Address, Call,
 * Connection, TerminalConnection, events), as Cisco's library does per provider.
 *
 * <p>Call operations ({@link #offhook}, {@link #dial}, {@link #answer}, …) change the
 * call model at once and queue the JTAPI events they cause, in the order of the JTAPI
 * developers guide's sequence charts and the bridge's engine (docs: jtapi-facts §12, §4,
 * pkg/ctiengine/callmodel): each provider delivers them on its own event thread, one
 * event per callback, as JTAPI's event thread does. While an event is delivered, the
 * Call's party getters (calling, called, current calling/called, last redirected) answer
 * as of that event, which is what an application reading them in its observer expects.
 *
 * <p>Failures: {@link #failCtiManager} takes a CTIManager down with the order of
 * jtapi-facts §4 (call observation ended, address and terminal out of service with
 * CTIMANAGER_FAILURE, ProvOutOfServiceEv) and refuses new providers on it;
 * {@link #restoreCtiManager} lets them in again.
 */
public final class FakeCluster {
    /** One device of the cluster's configuration. */
    public record DeviceSpec(String name, String type, String callManager, List<String> lines) {}

    final Object mu = new Object();
    private final Map<String, FDevice> devices = new LinkedHashMap<>();
    private final Map<String, FLine> lines = new LinkedHashMap<>();
    private final Map<String, FLine> external = new LinkedHashMap<>();
    private final Map<String, String> users;
    private final Map<String, Integer> cmIds;
    private final Set<String> downCtiManagers = new LinkedHashSet<>();
    private final Set<String> failedCms = new LinkedHashSet<>();
    private final List<FProvider> providers = new ArrayList<>();
    private final Map<Integer, FCall> calls = new LinkedHashMap<>();
    private int lastGcid;
    private int lastHandle;
    private int lastRouteSession;

    public FakeCluster(List<DeviceSpec> specs, Map<String, String> users, Map<String, Integer> callManagerIds) {
        this.users = users;
        this.cmIds = callManagerIds;
        for (DeviceSpec s : specs) {
            FDevice d = new FDevice(s.name(), s.type(), s.callManager());
            devices.put(d.name, d);
            for (String dn : s.lines()) {
                FLine l = lines.get(dn);
                if (l != null && l.device.type.equals("phone") && d.type.equals("phone")) {
                    // A shared line: one directory number on several phones (G15-216).
                    l.devices.add(d);
                } else {
                    l = new FLine(dn, d);
                    lines.putIfAbsent(dn, l);
                }
                d.lines.add(l);
            }
        }
        // Media addresses of phones as the simulator makes them up (pkg/ctisim/traffic):
        // line n (phones first, then CTI ports, then route points) is 10.x.y.z.
        int n = 0;
        for (String type : new String[] {"phone", "ctiport", "routepoint"}) {
            for (FDevice d : devices.values()) {
                if (d.type.equals(type)) {
                    for (FLine l : d.lines) {
                        n++;
                        l.mediaIp = String.format("10.%d.%d.%d", 16 + ((n >> 16) & 0x3f), (n >> 8) & 0xff, n & 0xff);
                    }
                }
            }
        }
    }

    // ---- model ------------------------------------------------------------------------

    static final class FDevice {
        final String name;
        final String type;
        final String callManager;
        final List<FLine> lines = new ArrayList<>();
        boolean inService = true;
        /** The CallManager node it is registered to (callManager until a failure re-homes it). */
        String cm;
        /** Its node failed while it had calls: it re-homes once they are over. */
        boolean rehoming;
        FProvider registeredBy;
        String mediaIp = "";
        int mediaPort;
        int payload = 4;
        int packetMs = 20;

        FDevice(String name, String type, String callManager) {
            this.name = name;
            this.type = type;
            this.callManager = callManager;
            this.cm = callManager;
        }
    }

    static final class FLine {
        final String dn;
        final FDevice device; // the first appearance; null: outside the cluster (a masked calling number)
        /** Every device the line appears on, in configuration order (several: a shared line). */
        final List<FDevice> devices = new ArrayList<>();
        String mediaIp = "";

        FLine(String dn, FDevice device) {
            this.dn = dn;
            this.device = device;
            if (device != null) {
                devices.add(device);
            }
        }
    }

    /** The party values of a call at one moment (what the Call's getters answer). */
    record Parties(FLine calling, FLine called, FLine curCalling, FLine curCalled, FLine lastRedir) {}

    static final class FCall {
        final int gcid;
        final int cmId;
        final List<FConn> conns = new ArrayList<>();
        FLine calling, called, curCalling, curCalled, lastRedir;
        boolean ended;
        /** A called party answered (a call in setup until then, for a CallManager failure). */
        boolean connected;
        int routeSession;
        FLine routedVia;
        /** ReRouteEvents sent for it: selectRoute found no usable destination. */
        int reroutes;

        FCall(int gcid, int cmId) {
            this.gcid = gcid;
            this.cmId = cmId;
        }

        Parties parties() {
            return new Parties(calling, called, curCalling, curCalled, lastRedir);
        }

        FConn conn(FLine l) {
            for (FConn c : conns) {
                if (c.line == l && c.cc != CallControlConnection.DISCONNECTED) {
                    return c;
                }
            }
            return null;
        }

        List<FConn> live() {
            List<FConn> out = new ArrayList<>();
            for (FConn c : conns) {
                if (c.cc != CallControlConnection.DISCONNECTED && c.cc != CallControlConnection.FAILED) {
                    out.add(c);
                }
            }
            return out;
        }
    }

    static final class FConn {
        final FCall call;
        final FLine line;
        int cc = CallControlConnection.IDLE;
        int core = Connection.IDLE;
        int reason = CiscoConnection.REASON_DIRECTCALL;
        int handle;
        /** One per terminal the call reached on the line (several on a shared line). */
        final List<FTermConn> tcs = new ArrayList<>();
        /** Lost to a CallManager node failure: CTI no longer observes it (no more events). */
        boolean lost;

        FConn(FCall call, FLine line) {
            this.call = call;
            this.line = line;
        }

        FTermConn tc(FDevice d) {
            for (FTermConn t : tcs) {
                if (t.device == d) {
                    return t;
                }
            }
            return null;
        }

        /** The first terminal connection in state cc, or null. */
        FTermConn tcIn(int cc) {
            for (FTermConn t : tcs) {
                if (t.cc == cc) {
                    return t;
                }
            }
            return null;
        }

        FTermConn addTc(FDevice d) {
            FTermConn t = new FTermConn(this, d);
            tcs.add(t);
            return t;
        }
    }

    static final class FTermConn {
        final FConn conn;
        final FDevice device;
        int cc = CallControlTerminalConnection.IDLE;
        int core = TerminalConnection.IDLE;

        FTermConn(FConn conn, FDevice device) {
            this.conn = conn;
            this.device = device;
        }
    }

    /** An event before it is made into a provider's proxy. */
    record Spec(Class<?> iface, FCall call, FConn conn, FTermConn tc, int cause, int ccCause, int ciscoCause,
            int meta, Parties parties, Map<String, Object> extra) {}

    // ---- providers --------------------------------------------------------------------

    /** The opener the gateway uses: getProvider against this cluster. */
    public ProviderOpener opener() {
        return (ps, login, instanceId) -> getProvider(ps);
    }

    Provider getProvider(String providerString) throws ProviderUnavailableException, PlatformException {
        String[] parts = providerString.split(";");
        String host = parts[0];
        String login = "";
        String pw = "";
        for (String p : parts) {
            if (p.startsWith("login=")) {
                login = p.substring(6);
            } else if (p.startsWith("passwd=")) {
                pw = p.substring(7);
            }
        }
        synchronized (mu) {
            if (downCtiManagers.contains(host)) {
                throw new FakePlatformException("Unable to create provider -- Connection refused");
            }
            if (!pw.equals(users.get(login))) {
                throw new FakeProviderUnavailableException("Login failed for user " + login
                        + ": invalid user id or password");
            }
            FProvider p = new FProvider(this, host, login);
            providers.add(p);
            return (Provider) p.proxy;
        }
    }

    /** A PlatformException as Cisco's jar throws it for a refused connection. */
    static final class FakePlatformException extends PlatformException {
        private static final long serialVersionUID = 1L;

        FakePlatformException(String s) {
            super(s);
        }
    }

    static final class FakeProviderUnavailableException extends ProviderUnavailableException {
        private static final long serialVersionUID = 1L;

        FakeProviderUnavailableException(String s) {
            super(s);
        }
    }

    List<FProvider> liveProviders() {
        List<FProvider> out = new ArrayList<>();
        for (FProvider p : providers) {
            if (p.state == Provider.IN_SERVICE) {
                out.add(p);
            }
        }
        return out;
    }

    void removeProvider(FProvider p) {
        providers.remove(p);
        for (FDevice d : devices.values()) {
            if (d.registeredBy == p) {
                d.registeredBy = null;
            }
        }
    }

    /** Number of providers in service (tests). */
    public int providersInService() {
        synchronized (mu) {
            return liveProviders().size();
        }
    }

    /** Whether device is registered (CTI port, route point) by a provider in service. */
    /** How many times the call was re-routed (no usable destination selected). */
    public int reroutes(int gcid) {
        synchronized (mu) {
            FCall c = calls.get(gcid);
            return c == null ? 0 : c.reroutes;
        }
    }

    /**
     * A route callback was registered on route point address rp: the calls waiting there,
     * whose route request went to a provider that is gone, are offered to it again. Cisco
     * (G15-199, CTIManager failure): RouteAddress callbacks are maintained and "these calls
     * get recovered on the new CTIManager. No call snapshot, however, gets delivered to the
     * RouteAddresses". How the recovered request reaches the callback Cisco does not say: a
     * new RouteEvent on a new RouteSession, as the simulator does (pkg/ctisim/traffic
     * RecoverRoutes).
     */
    void recoverRoutes(FLine rp) {
        synchronized (mu) {
            for (FCall c : calls.values()) {
                FConn x = c.conn(rp);
                if (c.routedVia == rp && c.routeSession != 0 && x != null && x.cc != CallControlConnection.FAILED) {
                    routeEvent(c, rp, x);
                }
            }
        }
    }

    public boolean registered(String device) {
        synchronized (mu) {
            FDevice d = devices.get(device);
            return d != null && d.registeredBy != null && d.registeredBy.state == Provider.IN_SERVICE;
        }
    }

    /** Waits until every provider delivered every queued event (tests). */
    public void drain() throws InterruptedException {
        List<FProvider> ps;
        synchronized (mu) {
            ps = new ArrayList<>(providers);
        }
        for (FProvider p : ps) {
            p.drain();
        }
    }

    /** Stops every provider's event thread. */
    public void close() {
        synchronized (mu) {
            for (FProvider p : providers) {
                p.events.shutdownNow();
            }
            providers.clear();
        }
    }

    // ---- faults -------------------------------------------------------------------------

    /**
     * The CTIManager host fails: every provider on it reports, in order (jtapi-facts §4),
     * CallObservationEndedEv for its observed calls, CiscoAddrOutOfServiceEv and
     * CiscoTermOutOfServiceEv (cause CTIMANAGER_FAILURE 1007) for what it observes, then
     * ProvOutOfServiceEv. New providers on host are refused until restoreCtiManager.
     */
    public void failCtiManager(String host) {
        synchronized (mu) {
            downCtiManagers.add(host);
            for (FProvider p : new ArrayList<>(providers)) {
                if (!p.host.equals(host) || p.state != Provider.IN_SERVICE) {
                    continue;
                }
                for (FCall c : calls.values()) {
                    if (p.observes(c)) {
                        p.queueCall(new Spec(CallObservationEndedEv.class, c, null, null, Ev.CAUSE_NORMAL, 0, 0,
                                Ev.META_UNKNOWN, c.parties(), Map.of()), c, null);
                    }
                }
                for (FDevice d : devices.values()) {
                    for (FLine l : d.lines) {
                        if (p.addrObservers.containsKey(l)) {
                            p.queueAddr(CiscoAddrOutOfServiceEv.class, l, d, 1007);
                        }
                    }
                    if (p.termObservers.containsKey(d)) {
                        p.queueTerm(CiscoTermOutOfServiceEv.class, d, 1007, Map.of());
                    }
                }
                p.state = Provider.OUT_OF_SERVICE;
                p.queueProv(ProvOutOfServiceEv.class);
            }
        }
    }

    public void restoreCtiManager(String host) {
        synchronized (mu) {
            downCtiManagers.remove(host);
        }
    }

    /**
     * The device goes out of (or back into) service, as around a CallManager node failure
     * (G15-67: "Cisco Unified JTAPI communicates this partial outage to applications by
     * using CiscoAddrOutOfServiceEv and CiscoTermOutOfServiceEv events … the device must
     * successfully register to the secondary … Cisco Unified JTAPI will send the
     * CiscoAddrInServiceEv and CiscoTermInServiceEv events. The Provider remains in
     * service"). Out: CiscoTermOutOfServiceEv, CiscoAddrOutOfServiceEv per line (with the
     * cause), CiscoProvTerminalUnRegisteredEv; in: CiscoProvTerminalRegisteredEv,
     * CiscoTermInServiceEv, CiscoAddrInServiceEv per line. Cisco names the events, not their
     * order across the provider, terminal and address observers: the double takes the
     * simulator's (pkg/ctisim deviceDownLocked, deviceUpLocked).
     */
    public void setDeviceInService(String device, boolean in, int cause) {
        synchronized (mu) {
            deviceService(devices.get(device), in, cause);
        }
    }

    private void deviceService(FDevice d, boolean in, int cause) {
        d.inService = in;
        for (FProvider p : liveProviders()) {
            if (in) {
                p.queueRegistration(d, true);
            }
            if (p.termObservers.containsKey(d)) {
                p.queueTerm(in ? CiscoTermInServiceEv.class : CiscoTermOutOfServiceEv.class, d, cause, Map.of());
            }
            for (FLine l : d.lines) {
                if (p.addrObservers.containsKey(l)) {
                    p.queueAddr(in ? CiscoAddrInServiceEv.class : CiscoAddrOutOfServiceEv.class, l, d, cause);
                }
            }
            if (!in) {
                p.queueRegistration(d, false);
            }
        }
    }

    /**
     * A CallManager node fails (G15-67, "Cisco Unified Communications Manager Server
     * Failure"; T15-19): every device registered to it goes out of service
     * (CiscoOutOfServiceEv.CAUSE_CALLMANAGER_FAILURE 1001); calls still in setup on them are
     * dropped (CAUSE_TEMPORARYFAILURE 41); in a connected call their legs lose observation
     * and control ("results only in termination of observation of that device. The media
     * path continues"): each such Connection and its TerminalConnections go UNKNOWN once,
     * with CiscoCallEv.CAUSE_CALLMANAGER_FAILURE (508), and get no event after (Cisco does
     * not say which events such a leg gets: UNKNOWN, "the implementation is unable to
     * determine the state", is the choice the bridge's engine and the simulator make).
     * Each device re-homes to the next node of its group that is up ("only when no active
     * calls exist on that device"): at once when idle, else when its calls are over. The
     * group is the cluster's CallManager list in order, after the device's primary node,
     * as the simulator has it.
     */
    public void failCallManager(String cm) {
        synchronized (mu) {
            failedCms.add(cm);
            List<FDevice> down = new ArrayList<>();
            for (FDevice d : devices.values()) {
                if (d.cm.equals(cm) && d.inService) {
                    deviceService(d, false, CAUSE_OOS_CALLMANAGER_FAILURE);
                    d.rehoming = true;
                    down.add(d);
                }
            }
            for (FCall c : new ArrayList<>(calls.values())) {
                List<FConn> hit = new ArrayList<>();
                for (FConn x : c.live()) {
                    if (!x.lost && x.tcs.stream().anyMatch(t -> down.contains(t.device))) {
                        hit.add(x);
                    }
                }
                if (hit.isEmpty()) {
                    continue;
                }
                if (!c.connected) {
                    for (FConn x : c.live()) {
                        drop(c, x, CAUSE_TEMPORARYFAILURE, 0, Ev.META_CALL_ENDING);
                    }
                    endCall(c, Ev.META_CALL_ENDING);
                    continue;
                }
                for (FConn x : hit) {
                    lose(c, x);
                }
            }
            rehome();
            mu.notifyAll();
        }
    }

    /** The leg's device lost its CallManager node: UNKNOWN once (cause 508), then silence. */
    private void lose(FCall c, FConn x) {
        int m = Ev.META_CALL_PROGRESS;
        int cause = CAUSE_CALLMANAGER_FAILURE;
        x.core = Connection.UNKNOWN;
        emit(javax.telephony.events.ConnUnknownEv.class, c, x, null, Ev.CAUSE_UNKNOWN, 0, cause, m);
        x.cc = CallControlConnection.UNKNOWN;
        emit(javax.telephony.callcontrol.events.CallCtlConnUnknownEv.class, c, x, null, Ev.CAUSE_UNKNOWN, 0, cause, m);
        for (FTermConn t : x.tcs) {
            t.core = TerminalConnection.UNKNOWN;
            emit(javax.telephony.events.TermConnUnknownEv.class, c, x, t, Ev.CAUSE_UNKNOWN, 0, cause, m);
            t.cc = CallControlTerminalConnection.UNKNOWN;
            emit(javax.telephony.callcontrol.events.CallCtlTermConnUnknownEv.class, c, x, t, Ev.CAUSE_UNKNOWN, 0,
                    cause, m);
        }
        x.lost = true;
    }

    /** Re-homes the devices whose node failed and whose calls are over to the next node up. */
    private void rehome() {
        for (FDevice d : devices.values()) {
            if (!d.rehoming || !idle(d)) {
                continue;
            }
            String next = nextCallManager(d);
            if (next.isEmpty()) {
                continue;
            }
            d.rehoming = false;
            d.cm = next;
            deviceService(d, true, 0);
        }
    }

    private boolean idle(FDevice d) {
        for (FCall c : calls.values()) {
            for (FConn x : c.conns) {
                if (x.cc != CallControlConnection.DISCONNECTED && x.cc != CallControlConnection.FAILED
                        && d.lines.contains(x.line)) {
                    return false;
                }
            }
        }
        return true;
    }

    private String nextCallManager(FDevice d) {
        List<String> cms = new ArrayList<>(cmIds.keySet());
        cms.sort(java.util.Comparator.comparing(cmIds::get));
        int start = cms.indexOf(d.callManager);
        for (int i = 1; i <= cms.size(); i++) {
            String cm = cms.get(Math.floorMod(start + i, cms.size()));
            if (!failedCms.contains(cm)) {
                return cm;
            }
        }
        return "";
    }

    // ---- call operations ----------------------------------------------------------------

    private FLine line(String dn) {
        FLine l = lines.get(dn);
        if (l == null) {
            throw new IllegalArgumentException("JTAPI double: no line " + dn);
        }
        return l;
    }

    private FCall call(int gcid) {
        FCall c = calls.get(gcid);
        if (c == null) {
            throw new IllegalArgumentException("JTAPI double: no call " + gcid);
        }
        return c;
    }

    private void emit(Class<?> iface, FCall c, FConn conn, FTermConn tc, int cause, int ccCause, int cisco,
            int meta) {
        emitX(iface, c, conn, tc, cause, ccCause, cisco, meta, Map.of());
    }

    private void emitX(Class<?> iface, FCall c, FConn conn, FTermConn tc, int cause, int ccCause, int cisco,
            int meta, Map<String, Object> extra) {
        Spec s = new Spec(iface, c, conn, tc, cause, ccCause, cisco, meta, c.parties(), extra);
        for (FProvider p : liveProviders()) {
            if (p.observes(c)) {
                p.queueCall(s, c, null);
            }
        }
    }

    private FConn newConn(FCall c, FLine l, int reason) {
        FConn x = new FConn(c, l);
        x.reason = reason;
        x.handle = ++lastHandle;
        c.conns.add(x);
        return x;
    }

    /** A phone goes off hook: a new call with the line's connection INITIATED (dial tone). */
    public int offhook(String dn) {
        synchronized (mu) {
            FLine a = line(dn);
            FCall c = new FCall(++lastGcid, cmIds.getOrDefault(a.device.callManager, 0));
            calls.put(c.gcid, c);
            c.calling = a;
            c.curCalling = a;
            FConn ca = newConn(c, a, CiscoConnection.REASON_DIRECTCALL);
            int m = Ev.META_CALL_STARTING;
            emit(CallActiveEv.class, c, null, null, Ev.CAUSE_NEW_CALL, 0, 0, m);
            emit(ConnCreatedEv.class, c, ca, null, Ev.CAUSE_NEW_CALL, 0, 0, m);
            ca.core = Connection.CONNECTED;
            emit(ConnConnectedEv.class, c, ca, null, Ev.CAUSE_NORMAL, 0, 0, m);
            ca.cc = CallControlConnection.INITIATED;
            emit(CallCtlConnInitiatedEv.class, c, ca, null, Ev.CAUSE_NORMAL, 0, 0, m);
            FTermConn t = ca.addTc(a.device);
            emit(TermConnCreatedEv.class, c, ca, t, Ev.CAUSE_NORMAL, 0, 0, m);
            t.core = TerminalConnection.ACTIVE;
            emit(TermConnActiveEv.class, c, ca, t, Ev.CAUSE_NORMAL, 0, 0, m);
            t.cc = CallControlTerminalConnection.TALKING;
            emit(CallCtlTermConnTalkingEv.class, c, ca, t, Ev.CAUSE_NORMAL, 0, 0, m);
            mu.notifyAll();
            return c.gcid;
        }
    }

    /**
     * The caller dials: DIALING, then (the called line known to the cluster) the call is
     * routed — the caller's connection ESTABLISHED — and the called line offered; a
     * phone or a registered CTI port then rings, a registered route point opens a route
     * session (RouteEvent to its callback).
     */
    public void dial(int gcid, String from, String to) {
        dial(gcid, from, to, false);
    }

    /**
     * Dials; with busy the called line is treated as busy, as a phone already in a call
     * without call waiting is: the called party's Connection is created FAILED (CallControl
     * cause BUSY, Cisco cause USERBUSY 17) and the called line gets nothing — JTAPI's
     * failed call (G15-1028: ConnFailedEv, then on clearing TermConnDroppedEv, …,
     * CallInvalidEv). A phone line busy in another call is treated so without the flag.
     */
    public void dial(int gcid, String from, String to, boolean busy) {
        synchronized (mu) {
            FCall c = call(gcid);
            FLine a = line(from);
            FLine b = line(to);
            FConn ca = c.conn(a);
            c.called = b;
            c.curCalled = b;
            int m = Ev.META_CALL_STARTING;
            ca.cc = CallControlConnection.DIALING;
            emit(CallCtlConnDialingEv.class, c, ca, null, Ev.CAUSE_NORMAL, 0, 0, m);
            ca.cc = CallControlConnection.ESTABLISHED;
            emit(CallCtlConnEstablishedEv.class, c, ca, null, Ev.CAUSE_NORMAL, 0, 0, m);
            if (busy || (b.device.type.equals("phone") && busyElsewhere(b, c))) {
                // No leg of the called line: no handle (as the simulator numbers legs).
                FConn cb = new FConn(c, b);
                c.conns.add(cb);
                int e = Ev.META_CALL_ENDING;
                emit(ConnCreatedEv.class, c, cb, null, Ev.CAUSE_NORMAL, CallCtlEv.CAUSE_BUSY, 0, e);
                cb.core = Connection.FAILED;
                emit(javax.telephony.events.ConnFailedEv.class, c, cb, null, Ev.CAUSE_NORMAL, CallCtlEv.CAUSE_BUSY,
                        CAUSE_USERBUSY, e);
                cb.cc = CallControlConnection.FAILED;
                emit(javax.telephony.callcontrol.events.CallCtlConnFailedEv.class, c, cb, null, Ev.CAUSE_NORMAL,
                        CallCtlEv.CAUSE_BUSY, CAUSE_USERBUSY, e);
                mu.notifyAll();
                return;
            }
            FConn cb = newConn(c, b, CiscoConnection.REASON_DIRECTCALL);
            offer(c, cb, m, 0);
            if (b.device.type.equals("routepoint")) {
                routeEvent(c, b, cb);
            } else {
                alert(c, cb, m, 0);
            }
            mu.notifyAll();
        }
    }

    /**
     * The caller dials through a translation pattern whose calling-party mask presents
     * the caller as masked (jtapi-facts §15, JTAPI developers guide "calling party
     * transformation"): the Call's current calling address becomes the masked number,
     * a Connection for it is created (outside the cluster) and dropped again once the
     * called line rings.
     */
    public void dialMasked(int gcid, String from, String to, String masked) {
        synchronized (mu) {
            FCall c = call(gcid);
            FLine a = line(from);
            FLine b = line(to);
            FLine y = externalLine(masked);
            FConn ca = c.conn(a);
            c.called = b;
            c.curCalled = b;
            int m = Ev.META_CALL_STARTING;
            ca.cc = CallControlConnection.DIALING;
            emit(CallCtlConnDialingEv.class, c, ca, null, Ev.CAUSE_NORMAL, 0, 0, m);
            c.curCalling = y;
            ca.cc = CallControlConnection.ESTABLISHED;
            emit(CallCtlConnEstablishedEv.class, c, ca, null, Ev.CAUSE_NORMAL, 0, 0, m);
            FConn cy = new FConn(c, y);
            c.conns.add(cy);
            emit(ConnCreatedEv.class, c, cy, null, Ev.CAUSE_NORMAL, 0, 0, Ev.META_CALL_ADDITIONAL_PARTY);
            cy.core = Connection.CONNECTED;
            emit(ConnConnectedEv.class, c, cy, null, Ev.CAUSE_NORMAL, 0, 0, Ev.META_CALL_ADDITIONAL_PARTY);
            cy.cc = CallControlConnection.ESTABLISHED;
            emit(CallCtlConnEstablishedEv.class, c, cy, null, Ev.CAUSE_NORMAL, 0, 0, Ev.META_CALL_ADDITIONAL_PARTY);
            FConn cb = newConn(c, b, CiscoConnection.REASON_DIRECTCALL);
            offer(c, cb, m, 0);
            alert(c, cb, m, 0);
            cy.core = Connection.DISCONNECTED;
            emit(ConnDisconnectedEv.class, c, cy, null, Ev.CAUSE_NORMAL, 0, 16, Ev.META_CALL_REMOVING_PARTY);
            cy.cc = CallControlConnection.DISCONNECTED;
            emit(CallCtlConnDisconnectedEv.class, c, cy, null, Ev.CAUSE_NORMAL, 0, 16, Ev.META_CALL_REMOVING_PARTY);
            mu.notifyAll();
        }
    }

    private void offer(FCall c, FConn x, int meta, int ccCause) {
        emit(ConnCreatedEv.class, c, x, null, Ev.CAUSE_NORMAL, ccCause, 0, meta);
        x.core = Connection.INPROGRESS;
        emit(ConnInProgressEv.class, c, x, null, Ev.CAUSE_NORMAL, ccCause, 0, meta);
        x.cc = CallControlConnection.OFFERED;
        emit(CallCtlConnOfferedEv.class, c, x, null, Ev.CAUSE_NORMAL, ccCause, 0, meta);
    }

    private void alert(FCall c, FConn x, int meta, int ccCause) {
        x.core = Connection.ALERTING;
        emit(ConnAlertingEv.class, c, x, null, Ev.CAUSE_NORMAL, ccCause, 0, meta);
        x.cc = CallControlConnection.ALERTING;
        emit(CallCtlConnAlertingEv.class, c, x, null, Ev.CAUSE_NORMAL, ccCause, 0, meta);
        // Every appearance of a shared line rings: one Connection, a TerminalConnection per
        // phone (G15-216: "all the line appearances of a shared line ring").
        for (FDevice d : x.line.devices) {
            if (!d.inService) {
                continue;
            }
            FTermConn t = x.addTc(d);
            emit(TermConnCreatedEv.class, c, x, t, Ev.CAUSE_NORMAL, ccCause, 0, meta);
            t.core = TerminalConnection.RINGING;
            emit(javax.telephony.events.TermConnRingingEv.class, c, x, t, Ev.CAUSE_NORMAL, ccCause, 0, meta);
            t.cc = CallControlTerminalConnection.RINGING;
            emit(CallCtlTermConnRingingEv.class, c, x, t, Ev.CAUSE_NORMAL, ccCause, 0, meta);
        }
    }

    private void routeEvent(FCall c, FLine rp, FConn cr) {
        FProvider owner = rp.device.registeredBy;
        if (owner == null || owner.state != Provider.IN_SERVICE || !owner.routeCallbacks.containsKey(rp)) {
            return; // no callback: the call waits on the route point (G15-202 step 5)
        }
        c.routeSession = ++lastRouteSession;
        c.routedVia = rp;
        owner.queueRoute(RouteEvent.class, c, rp, null, RouteSession.CAUSE_NO_ERROR);
    }

    /**
     * RouteSession.selectRoute: the first destination that is a phone line in service
     * and not in a call gets the call (RouteUsedEvent, the route point's connection
     * disconnected with REDIRECTED, the destination offered and ringing, RouteEndEvent);
     * none: ReRouteEvent (G15-202/203).
     */
    void selectRoute(FProvider p, FCall c, String[] dests) {
        synchronized (mu) {
            FLine rp = c.routedVia;
            FLine d = null;
            for (String dn : dests) {
                FLine l = lines.get(dn);
                if (l != null && l.device.type.equals("phone") && l.device.inService && !busy(l)
                        && l.device != c.calling.device) {
                    d = l;
                    break;
                }
            }
            if (d == null) {
                c.reroutes++;
                p.queueRoute(javax.telephony.callcenter.events.ReRouteEvent.class, c, rp, null,
                        RouteSession.CAUSE_INVALID_DESTINATION);
                mu.notifyAll();
                return;
            }
            p.queueRoute(RouteUsedEvent.class, c, rp, d, RouteSession.CAUSE_NO_ERROR);
            FConn cr = c.conn(rp);
            int m = Ev.META_CALL_REMOVING_PARTY;
            cr.cc = CallControlConnection.DISCONNECTED;
            cr.core = Connection.DISCONNECTED;
            emit(ConnDisconnectedEv.class, c, cr, null, Ev.CAUSE_NORMAL, CallCtlEv.CAUSE_REDIRECTED, 16, m);
            emit(CallCtlConnDisconnectedEv.class, c, cr, null, Ev.CAUSE_NORMAL, CallCtlEv.CAUSE_REDIRECTED, 16, m);
            c.curCalled = d;
            c.lastRedir = rp;
            FConn cd = newConn(c, d, CiscoConnection.REASON_REDIRECT);
            offer(c, cd, Ev.META_CALL_STARTING, CallCtlEv.CAUSE_REDIRECTED);
            alert(c, cd, Ev.META_CALL_STARTING, CallCtlEv.CAUSE_REDIRECTED);
            p.queueRoute(RouteEndEvent.class, c, rp, null, RouteSession.CAUSE_NO_ERROR);
            c.routeSession = 0;
            mu.notifyAll();
        }
    }

    private boolean busy(FLine l) {
        return busyElsewhere(l, null);
    }

    /** Whether line l has a live Connection in a call other than except. */
    private boolean busyElsewhere(FLine l, FCall except) {
        for (FCall c : calls.values()) {
            if (c != except && c.conn(l) != null && c.conn(l).cc != CallControlConnection.FAILED) {
                return true;
            }
        }
        return false;
    }

    /** Q.850 causes as CiscoCallEv.getCiscoCause() reports them. */
    static final int CAUSE_NORMALCALLCLEARING = 16;
    static final int CAUSE_USERBUSY = 17;
    static final int CAUSE_NOANSWERFROMUSER = 19;
    static final int CAUSE_TEMPORARYFAILURE = com.cisco.jtapi.extensions.CiscoCallEv.CAUSE_TEMPORARYFAILURE;
    static final int CAUSE_CALLMANAGER_FAILURE = com.cisco.jtapi.extensions.CiscoCallEv.CAUSE_CALLMANAGER_FAILURE;
    static final int CAUSE_OOS_CALLMANAGER_FAILURE = com.cisco.jtapi.extensions.CiscoOutOfServiceEv.CAUSE_CALLMANAGER_FAILURE;

    /** The called line answers (waits, bounded, until it rings: a route or auto-answer may be on its way). */
    public void answer(int gcid, String dn) throws InterruptedException {
        answer(gcid, dn, "");
    }

    /**
     * The called line answers on device (empty: its first appearance); on a shared line the
     * other appearances then show the call in use elsewhere (PASSIVE/INUSE, G15-216).
     */
    public void answer(int gcid, String dn, String device) throws InterruptedException {
        synchronized (mu) {
            FCall c = call(gcid);
            FLine b = line(dn);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (c.conn(b) == null || c.conn(b).cc != CallControlConnection.ALERTING) {
                if (c.conn(b) != null && c.conn(b).cc == CallControlConnection.ESTABLISHED) {
                    return; // already answered (a CTI port answered by the gateway)
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IllegalStateException("JTAPI double: " + dn + " is not ringing in call " + gcid);
                }
                TimeUnit.NANOSECONDS.timedWait(mu, left);
            }
            answerLocked(c, c.conn(b), device.isEmpty() ? b.device : devices.get(device));
        }
    }

    /** Waits (bounded) until dn's connection in the call is ESTABLISHED (answered by the gateway). */
    public void awaitEstablished(int gcid, String dn) throws InterruptedException {
        synchronized (mu) {
            FLine b = line(dn);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                FCall c = calls.get(gcid);
                FConn x = c != null ? c.conn(b) : null;
                if (x != null && x.cc == CallControlConnection.ESTABLISHED) {
                    return;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IllegalStateException("JTAPI double: " + dn + " not answered in call " + gcid);
                }
                TimeUnit.NANOSECONDS.timedWait(mu, left);
            }
        }
    }

    void answerLocked(FCall c, FConn cb, FDevice on) {
        FTermConn answering = cb.tc(on);
        if (answering == null) {
            throw new IllegalArgumentException("JTAPI double: " + cb.line.dn + " does not ring on " + on.name);
        }
        int m = Ev.META_CALL_PROGRESS;
        cb.core = Connection.CONNECTED;
        emit(ConnConnectedEv.class, c, cb, null, Ev.CAUSE_NORMAL, 0, 0, m);
        cb.cc = CallControlConnection.ESTABLISHED;
        emit(CallCtlConnEstablishedEv.class, c, cb, null, Ev.CAUSE_NORMAL, 0, 0, m);
        c.connected = true;
        talk(c, answering, 0);
        for (FTermConn t : cb.tcs) {
            if (t != answering) {
                passive(c, t);
            }
        }
        FDevice port = cb.line.device;
        if (port.type.equals("ctiport") && port.registeredBy != null) {
            // The port's media starts: RTP towards the caller's phone, and from it to the
            // registered address (values as the simulator makes them up).
            FConn ca = c.conns.get(0);
            String phoneIp = ca.line.mediaIp;
            int phonePort = 16384 + 2 * (ca.handle % 8192);
            for (FProvider p : liveProviders()) {
                if (p.termObservers.containsKey(port)) {
                    p.queueTerm(CiscoRTPOutputStartedEv.class, port, 0,
                            Map.of("call", c, "ip", phoneIp, "port", phonePort));
                    p.queueTerm(CiscoRTPInputStartedEv.class, port, 0,
                            Map.of("call", c, "ip", port.mediaIp, "port", port.mediaPort));
                }
            }
        }
        mu.notifyAll();
    }

    /** A terminal connection becomes TALKING (TermConnActiveEv when it was not ACTIVE). */
    private void talk(FCall c, FTermConn t, int ccCause) {
        int m = Ev.META_CALL_PROGRESS;
        if (t.core != TerminalConnection.ACTIVE) {
            t.core = TerminalConnection.ACTIVE;
            emit(TermConnActiveEv.class, c, t.conn, t, Ev.CAUSE_NORMAL, 0, 0, m);
        }
        t.cc = CallControlTerminalConnection.TALKING;
        emit(CallCtlTermConnTalkingEv.class, c, t.conn, t, Ev.CAUSE_NORMAL, ccCause, 0, m);
    }

    /** A shared line's other appearance shows the call in use elsewhere (PASSIVE/INUSE). */
    private void passive(FCall c, FTermConn t) {
        int m = Ev.META_CALL_PROGRESS;
        t.core = TerminalConnection.PASSIVE;
        emit(javax.telephony.events.TermConnPassiveEv.class, c, t.conn, t, Ev.CAUSE_NORMAL, 0, 0, m);
        t.cc = CallControlTerminalConnection.INUSE;
        emit(javax.telephony.callcontrol.events.CallCtlTermConnInUseEv.class, c, t.conn, t, Ev.CAUSE_NORMAL, 0, 0, m);
    }

    private FTermConn tcOf(FConn x, String device, int defaultState) {
        FTermConn t = device.isEmpty() ? x.tcIn(defaultState) : x.tc(devices.get(device));
        if (t == null) {
            throw new IllegalArgumentException("JTAPI double: no such terminal connection of " + x.line.dn
                    + (device.isEmpty() ? "" : " on " + device));
        }
        return t;
    }

    /** The line holds the call (CallCtlTermConnHeldEv; core states unchanged). */
    public void hold(int gcid, String dn) {
        hold(gcid, dn, "");
    }

    /** The line holds the call on device (empty: the talking terminal). */
    public void hold(int gcid, String dn, String device) {
        synchronized (mu) {
            FCall c = call(gcid);
            FConn x = c.conn(line(dn));
            FTermConn t = tcOf(x, device, CallControlTerminalConnection.TALKING);
            t.cc = CallControlTerminalConnection.HELD;
            emit(CallCtlTermConnHeldEv.class, c, x, t, Ev.CAUSE_NORMAL, 0, 0, Ev.META_CALL_PROGRESS);
        }
    }

    /** The line retrieves the held call (CallCtlTermConnTalkingEv, cause UNHOLD). */
    public void unhold(int gcid, String dn) {
        unhold(gcid, dn, "");
    }

    /**
     * The line retrieves the held call on device (empty: the holding terminal). From
     * another phone of a shared line (its terminal connection PASSIVE/INUSE, G15-216/217:
     * "hold and resume from another phone"): that terminal becomes ACTIVE/TALKING and the
     * one that held the call shows it in use elsewhere (PASSIVE/INUSE).
     */
    public void unhold(int gcid, String dn, String device) {
        synchronized (mu) {
            FCall c = call(gcid);
            FConn x = c.conn(line(dn));
            FTermConn t = tcOf(x, device, CallControlTerminalConnection.HELD);
            if (t.cc == CallControlTerminalConnection.HELD) {
                talk(c, t, CallCtlEv.CAUSE_UNHOLD);
                return;
            }
            talk(c, t, 0);
            for (FTermConn o : x.tcs) {
                if (o != t && o.cc == CallControlTerminalConnection.HELD) {
                    passive(c, o);
                }
            }
        }
    }

    /**
     * The line hangs up; when fewer than two parties would be left, the others are
     * cleared too, then the call ends (CallInvalidEv). A CTI port's media stops first.
     * The causes: a caller giving up on a busy party ends the call with USERBUSY (CallControl
     * BUSY); a party that was still ringing leaves with NOANSWERFROMUSER (CallControl
     * CALL_NOT_ANSWERED); everyone else with NORMALCALLCLEARING. Cisco gives no chart for an
     * abandoned call: these are the causes the bridge's engine maps the simulator's to.
     */
    public void hangup(int gcid, String dn) {
        synchronized (mu) {
            FCall c = call(gcid);
            FConn x = c.conn(line(dn));
            for (FConn o : c.live()) {
                FDevice port = o.line.device;
                if (port != null && port.type.equals("ctiport") && o.cc == CallControlConnection.ESTABLISHED) {
                    for (FProvider p : liveProviders()) {
                        if (p.termObservers.containsKey(port)) {
                            p.queueTerm(CiscoRTPOutputStoppedEv.class, port, 0, Map.of("call", c));
                            p.queueTerm(CiscoRTPInputStoppedEv.class, port, 0, Map.of("call", c));
                        }
                    }
                }
            }
            List<FConn> rest = new ArrayList<>(c.live());
            rest.remove(x);
            boolean ending = rest.size() < 2;
            List<FConn> failed = new ArrayList<>();
            for (FConn o : c.conns) {
                if (o.cc == CallControlConnection.FAILED) {
                    failed.add(o);
                }
            }
            int cause = failed.isEmpty() ? CAUSE_NORMALCALLCLEARING : CAUSE_USERBUSY;
            int ccCause = failed.isEmpty() ? 0 : CallCtlEv.CAUSE_BUSY;
            drop(c, x, cause, ccCause, ending ? Ev.META_CALL_ENDING : Ev.META_CALL_REMOVING_PARTY);
            if (ending) {
                for (FConn o : rest) {
                    if (o.cc == CallControlConnection.ALERTING) {
                        drop(c, o, CAUSE_NOANSWERFROMUSER, CallCtlEv.CAUSE_CALL_NOT_ANSWERED, Ev.META_CALL_ENDING);
                    } else {
                        drop(c, o, cause, ccCause, Ev.META_CALL_ENDING);
                    }
                }
                for (FConn o : failed) {
                    drop(c, o, cause, ccCause, Ev.META_CALL_ENDING);
                }
                endCall(c, Ev.META_CALL_ENDING);
            }
            mu.notifyAll();
        }
    }

    /**
     * A Connection leaves the call: its terminal connections dropped (a shared line's
     * talking one first, as the simulator clears appearances), then the Connection.
     */
    private void drop(FCall c, FConn x, int cisco, int ccCause, int meta) {
        if (x.lost) {
            x.cc = CallControlConnection.DISCONNECTED;
            x.core = Connection.DISCONNECTED;
            return; // CTI no longer observes it: it ends silently with its call
        }
        List<FTermConn> order = new ArrayList<>(x.tcs);
        order.sort((p, q) -> Boolean.compare(q.cc == CallControlTerminalConnection.TALKING,
                p.cc == CallControlTerminalConnection.TALKING));
        for (FTermConn t : order) {
            if (t.cc == CallControlTerminalConnection.DROPPED) {
                continue;
            }
            t.core = TerminalConnection.DROPPED;
            emit(TermConnDroppedEv.class, c, x, t, Ev.CAUSE_NORMAL, ccCause, cisco, meta);
            t.cc = CallControlTerminalConnection.DROPPED;
            emit(CallCtlTermConnDroppedEv.class, c, x, t, Ev.CAUSE_NORMAL, ccCause, cisco, meta);
        }
        x.core = Connection.DISCONNECTED;
        emit(ConnDisconnectedEv.class, c, x, null, Ev.CAUSE_NORMAL, ccCause, cisco, meta);
        x.cc = CallControlConnection.DISCONNECTED;
        emit(CallCtlConnDisconnectedEv.class, c, x, null, Ev.CAUSE_NORMAL, ccCause, cisco, meta);
    }

    private void endCall(FCall c, int meta) {
        c.ended = true;
        emit(CallInvalidEv.class, c, null, null, Ev.CAUSE_NORMAL, 0, 0, meta);
        emit(CallObservationEndedEv.class, c, null, null, Ev.CAUSE_NORMAL, 0, 0, meta);
        calls.remove(c.gcid);
        rehome();
    }

    /**
     * Completes a transfer of the controller's primary call (held) and its consult call,
     * consult or blind (the destination still ringing: G15-252, "this feature can be done
     * in any state of the call"), in the order of the JTAPI developers guide for CUCM 15,
     * Transfer Scenarios, "Consult Transfer; B Is the Transfer Controller", Table 8 (G15-249,
     * G15-251; the guide's pp. 194-196): CiscoTransferStartEv on the final call (Call1,
     * META_UNKNOWN; finalCall = Call1, transferredCall = Call2, transferController = the
     * controller's TerminalConnection); the controller dropped from Call1; the destination
     * created in Call1 in its current states; the controller and the destination dropped
     * from Call2; CallInvalidEv (Call2); CiscoTransferEndEv on Call1. The events in between
     * carry META_CALL_TRANSFERRING and the CallControl cause TRANSFER. Table 8 lists no
     * CiscoCallChangedEv, so none is sent. What Cisco is silent on, and the double
     * chooses: an observer of the consult call only gets Start on that call; the party
     * getters of Call1 name the destination as current called party (and the controller
     * as last redirecting) from the moment the destination joins.
     */
    public void transfer(int primary, int consult, String controller) {
        feature(primary, consult, controller, false);
    }

    /**
     * Completes an ad hoc conference of the controller's primary call (held) and its
     * consult call, in the order of the guide's consult conference (G15-81, the guide's
     * p. 64: CiscoConferenceEndEv after the merged call went INVALID) and its conference
     * chart (G15-1236, the guide's p. 1168: the controller TALKING again in the final call,
     * then the new party created in it): CiscoConferenceStartEv on Call1 (META_UNKNOWN);
     * the controller back to TALKING in Call1; the added party created in Call1; the
     * controller and the added party dropped from Call2; CallInvalidEv (Call2);
     * CiscoConferenceEndEv on Call1 — the events in between with META_CALL_MERGING and
     * the CallControl cause CONFERENCE.
     */
    public void conference(int primary, int consult, String controller) {
        feature(primary, consult, controller, true);
    }

    /**
     * A transfer that fails: the controller starts it and the destination hangs up before
     * CallProcessing completes it (G15-252: CiscoTransferEndEv.isSuccess() "returns false
     * if the transfer fails: the party dropped the call before CallProcessing could
     * complete the transfer"). CiscoTransferStartEv on Call1 as in Table 8, the destination
     * and then the controller dropped from Call2, CallInvalidEv (Call2),
     * CiscoTransferEndEv with isSuccess() false; Call1 stays as it was (the controller
     * holding it). Cisco gives no table for a failed transfer: the consult call is cleared
     * as any call, with the transfer's meta code and cause, as between Start and End of
     * Table 8.
     */
    public void failedTransfer(int primary, int consult, String controller) {
        synchronized (mu) {
            FCall c1 = call(primary);
            FCall c2 = call(consult);
            FLine b = line(controller);
            int meta = Ev.META_CALL_TRANSFERRING;
            int ccCause = CallCtlEv.CAUSE_TRANSFER;
            Map<String, Object> fx = Map.of("final", c1, "other", c2, "controller", c1.conn(b), "success", false);
            emitFeature(CiscoTransferStartEv.class, c1, c2, ccCause, fx);
            for (FConn o : new ArrayList<>(c2.live())) {
                if (o.line != b) {
                    drop(c2, o, 16, ccCause, meta);
                }
            }
            drop(c2, c2.conn(b), 16, ccCause, meta);
            endCall(c2, meta);
            emitFeature(CiscoTransferEndEv.class, c1, null, ccCause, fx);
            mu.notifyAll();
        }
    }

    private void feature(int primary, int consult, String controller, boolean conference) {
        synchronized (mu) {
            FCall c1 = call(primary);
            FCall c2 = call(consult);
            FLine b = line(controller);
            FConn b1 = c1.conn(b);
            FConn b2 = c2.conn(b);
            int meta = conference ? Ev.META_CALL_MERGING : Ev.META_CALL_TRANSFERRING;
            int ccCause = conference ? CallCtlEv.CAUSE_CONFERENCE : CallCtlEv.CAUSE_TRANSFER;
            Class<?> start = conference ? CiscoConferenceStartEv.class : CiscoTransferStartEv.class;
            Class<?> end = conference ? CiscoConferenceEndEv.class : CiscoTransferEndEv.class;
            Map<String, Object> fx = Map.of("final", c1, "other", c2, "controller", b1, "success", true);
            emitFeature(start, c1, c2, ccCause, fx);
            if (conference) {
                FTermConn held = b1.tcIn(CallControlTerminalConnection.HELD);
                held.cc = CallControlTerminalConnection.TALKING;
                emit(CallCtlTermConnTalkingEv.class, c1, b1, held, Ev.CAUSE_NORMAL, ccCause, 0, meta);
            } else {
                drop(c1, b1, 16, ccCause, meta);
            }
            List<FConn> moving = new ArrayList<>();
            for (FConn o : c2.live()) {
                if (o.line != b) {
                    moving.add(o);
                }
            }
            for (FConn o : moving) {
                if (!conference) {
                    c1.curCalled = o.line;
                    c1.lastRedir = b;
                }
                FConn moved = new FConn(c1, o.line);
                moved.handle = o.handle;
                moved.reason = conference ? o.reason : CiscoConnection.REASON_TRANSFERREDCALL;
                c1.conns.add(moved);
                join(c1, moved, o, ccCause, meta);
            }
            drop(c2, b2, 16, ccCause, meta);
            for (FConn o : moving) {
                drop(c2, o, 16, ccCause, meta);
            }
            endCall(c2, meta);
            emitFeature(end, c1, null, ccCause, fx);
            mu.notifyAll();
        }
    }

    /**
     * A connection created in a call directly in the states it has in the call it comes
     * from (Table 8: ConnCreatedEv, ConnConnectedEv, CallCtlConnEstablishedEv,
     * TermConnCreatedEv, TermConnActiveEv, CallCtlTermConnTalkingEv; a ringing party
     * ConnAlertingEv, CallCtlConnAlertingEv, TermConnRingingEv, CallCtlTermConnRingingEv).
     */
    private void join(FCall c, FConn x, FConn from, int ccCause, int meta) {
        emit(ConnCreatedEv.class, c, x, null, Ev.CAUSE_NORMAL, ccCause, 0, meta);
        x.core = from.core;
        emit(from.core == Connection.ALERTING ? ConnAlertingEv.class : ConnConnectedEv.class, c, x, null,
                Ev.CAUSE_NORMAL, ccCause, 0, meta);
        x.cc = from.cc;
        emit(from.cc == CallControlConnection.ALERTING ? CallCtlConnAlertingEv.class : CallCtlConnEstablishedEv.class,
                c, x, null, Ev.CAUSE_NORMAL, ccCause, 0, meta);
        for (FTermConn ft : from.tcs) {
            FTermConn t = x.addTc(ft.device);
            emit(TermConnCreatedEv.class, c, x, t, Ev.CAUSE_NORMAL, ccCause, 0, meta);
            t.core = ft.core;
            emit(ft.core == TerminalConnection.RINGING ? javax.telephony.events.TermConnRingingEv.class
                    : ft.core == TerminalConnection.PASSIVE ? javax.telephony.events.TermConnPassiveEv.class
                    : TermConnActiveEv.class, c, x, t, Ev.CAUSE_NORMAL, ccCause, 0, meta);
            t.cc = ft.cc;
            emit(ft.cc == CallControlTerminalConnection.RINGING ? CallCtlTermConnRingingEv.class
                    : ft.cc == CallControlTerminalConnection.HELD ? CallCtlTermConnHeldEv.class
                    : ft.cc == CallControlTerminalConnection.INUSE
                            ? javax.telephony.callcontrol.events.CallCtlTermConnInUseEv.class
                    : CallCtlTermConnTalkingEv.class, c, x, t, Ev.CAUSE_NORMAL, ccCause, 0, meta);
        }
    }

    /**
     * A transfer or conference Start or End event (META_UNKNOWN, Table 8) on the final
     * call, to its observers; a Start also on the consult call, to the observers of the
     * consult call that do not observe the final call (consult may be null).
     */
    private void emitFeature(Class<?> iface, FCall fin, FCall consult, int ccCause, Map<String, Object> fx) {
        Spec s = new Spec(iface, fin, null, null, Ev.CAUSE_NORMAL, ccCause, 0, Ev.META_UNKNOWN, fin.parties(), fx);
        for (FProvider p : liveProviders()) {
            if (p.observes(fin)) {
                p.queueCall(s, fin, null);
            }
            if (consult != null && p.observes(consult)) {
                p.queueCall(new Spec(iface, consult, null, null, Ev.CAUSE_NORMAL, ccCause, 0, Ev.META_UNKNOWN,
                        consult.parties(), fx), consult, fin);
            }
        }
    }

    // ---- CTI ports and route points -----------------------------------------------------

    void registerPort(FProvider p, FDevice d, InetAddress ip, int port, CiscoMediaCapability[] caps)
            throws CiscoRegistrationException {
        synchronized (mu) {
            if (d.registeredBy != null && d.registeredBy != p && d.registeredBy.state == Provider.IN_SERVICE
                    && !(ip != null && ip.getHostAddress().equals(d.mediaIp) && port == d.mediaPort)) {
                throw new CiscoRegistrationException("media capability mismatch: " + d.name
                        + " is registered by another application");
            }
            d.registeredBy = p;
            d.mediaIp = ip != null ? ip.getHostAddress() : "";
            d.mediaPort = port;
            if (caps != null && caps.length > 0) {
                d.payload = caps[0].getPayloadType();
                d.packetMs = caps[0].getMaxFramesPerPacket();
            }
        }
    }

    void registerRoutePoint(FProvider p, FDevice d) {
        synchronized (mu) {
            d.registeredBy = p;
        }
    }

    /** The gateway answered a CTI port call through TerminalConnection.answer(). */
    void answerFromApp(FCall c, FConn x) {
        synchronized (mu) {
            if (x.cc == CallControlConnection.ALERTING) {
                answerLocked(c, x, x.line.device);
            }
        }
    }

    FDevice device(String name) {
        return devices.get(name);
    }

    Iterable<FDevice> devices() {
        return devices.values();
    }

    FLine externalLine(String dn) {
        return external.computeIfAbsent(dn, k -> new FLine(k, null));
    }

    Map<Integer, FCall> callsView() {
        return calls;
    }
}
