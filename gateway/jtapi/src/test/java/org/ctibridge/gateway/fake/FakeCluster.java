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
                FLine l = new FLine(dn, d);
                d.lines.add(l);
                lines.putIfAbsent(dn, l);
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
        FProvider registeredBy;
        String mediaIp = "";
        int mediaPort;
        int payload = 4;
        int packetMs = 20;

        FDevice(String name, String type, String callManager) {
            this.name = name;
            this.type = type;
            this.callManager = callManager;
        }
    }

    static final class FLine {
        final String dn;
        final FDevice device; // null: outside the cluster (e.g. a masked calling number)
        String mediaIp = "";

        FLine(String dn, FDevice device) {
            this.dn = dn;
            this.device = device;
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
        int routeSession;
        FLine routedVia;

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
        FTermConn tc;

        FConn(FCall call, FLine line) {
            this.call = call;
            this.line = line;
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
                                Ev.META_UNKNOWN, c.parties(), Map.of()), c);
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
     * The device goes out of (or back into) service, as after a CallManager node failure
     * (jtapi-facts §5): CiscoProvTerminalUnRegisteredEv (or RegisteredEv), then the
     * address and terminal events with the cause; the provider stays in service.
     */
    public void setDeviceInService(String device, boolean in, int cause) {
        synchronized (mu) {
            FDevice d = devices.get(device);
            d.inService = in;
            for (FProvider p : liveProviders()) {
                p.queueRegistration(d, in);
                for (FLine l : d.lines) {
                    if (p.addrObservers.containsKey(l)) {
                        p.queueAddr(in ? CiscoAddrInServiceEv.class : CiscoAddrOutOfServiceEv.class, l, d, cause);
                    }
                }
                if (p.termObservers.containsKey(d)) {
                    p.queueTerm(in ? CiscoTermInServiceEv.class : CiscoTermOutOfServiceEv.class, d, cause, Map.of());
                }
            }
        }
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
                p.queueCall(s, c);
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
            ca.tc = new FTermConn(ca, a.device);
            emit(TermConnCreatedEv.class, c, ca, ca.tc, Ev.CAUSE_NORMAL, 0, 0, m);
            ca.tc.core = TerminalConnection.ACTIVE;
            emit(TermConnActiveEv.class, c, ca, ca.tc, Ev.CAUSE_NORMAL, 0, 0, m);
            ca.tc.cc = CallControlTerminalConnection.TALKING;
            emit(CallCtlTermConnTalkingEv.class, c, ca, ca.tc, Ev.CAUSE_NORMAL, 0, 0, m);
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
        x.tc = new FTermConn(x, x.line.device);
        emit(TermConnCreatedEv.class, c, x, x.tc, Ev.CAUSE_NORMAL, ccCause, 0, meta);
        x.tc.core = TerminalConnection.RINGING;
        emit(javax.telephony.events.TermConnRingingEv.class, c, x, x.tc, Ev.CAUSE_NORMAL, ccCause, 0, meta);
        x.tc.cc = CallControlTerminalConnection.RINGING;
        emit(CallCtlTermConnRingingEv.class, c, x, x.tc, Ev.CAUSE_NORMAL, ccCause, 0, meta);
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
                p.queueRoute(javax.telephony.callcenter.events.ReRouteEvent.class, c, rp, null,
                        RouteSession.CAUSE_INVALID_DESTINATION);
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
        for (FCall c : calls.values()) {
            if (c.conn(l) != null) {
                return true;
            }
        }
        return false;
    }

    /** The called line answers (waits, bounded, until it rings: a route or auto-answer may be on its way). */
    public void answer(int gcid, String dn) throws InterruptedException {
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
            answerLocked(c, c.conn(b));
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

    void answerLocked(FCall c, FConn cb) {
        int m = Ev.META_CALL_PROGRESS;
        cb.core = Connection.CONNECTED;
        emit(ConnConnectedEv.class, c, cb, null, Ev.CAUSE_NORMAL, 0, 0, m);
        cb.cc = CallControlConnection.ESTABLISHED;
        emit(CallCtlConnEstablishedEv.class, c, cb, null, Ev.CAUSE_NORMAL, 0, 0, m);
        cb.tc.core = TerminalConnection.ACTIVE;
        emit(TermConnActiveEv.class, c, cb, cb.tc, Ev.CAUSE_NORMAL, 0, 0, m);
        cb.tc.cc = CallControlTerminalConnection.TALKING;
        emit(CallCtlTermConnTalkingEv.class, c, cb, cb.tc, Ev.CAUSE_NORMAL, 0, 0, m);
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

    /** The line holds the call (CallCtlTermConnHeldEv; core states unchanged). */
    public void hold(int gcid, String dn) {
        synchronized (mu) {
            FCall c = call(gcid);
            FConn x = c.conn(line(dn));
            x.tc.cc = CallControlTerminalConnection.HELD;
            emit(CallCtlTermConnHeldEv.class, c, x, x.tc, Ev.CAUSE_NORMAL, 0, 0, Ev.META_CALL_PROGRESS);
        }
    }

    /** The line retrieves the held call (CallCtlTermConnTalkingEv, cause UNHOLD). */
    public void unhold(int gcid, String dn) {
        synchronized (mu) {
            FCall c = call(gcid);
            FConn x = c.conn(line(dn));
            x.tc.cc = CallControlTerminalConnection.TALKING;
            emit(CallCtlTermConnTalkingEv.class, c, x, x.tc, Ev.CAUSE_NORMAL, CallCtlEv.CAUSE_UNHOLD, 0,
                    Ev.META_CALL_PROGRESS);
        }
    }

    /**
     * The line hangs up; when fewer than two parties would be left, the others are
     * cleared too, then the call ends (CallInvalidEv). A CTI port's media stops first.
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
            drop(c, x, 16, 0, ending ? Ev.META_CALL_ENDING : Ev.META_CALL_REMOVING_PARTY);
            if (ending) {
                for (FConn o : rest) {
                    drop(c, o, 16, 0, Ev.META_CALL_ENDING);
                }
                endCall(c);
            }
            mu.notifyAll();
        }
    }

    private void drop(FCall c, FConn x, int cisco, int ccCause, int meta) {
        if (x.tc != null && x.tc.cc != CallControlTerminalConnection.DROPPED) {
            x.tc.core = TerminalConnection.DROPPED;
            emit(TermConnDroppedEv.class, c, x, x.tc, Ev.CAUSE_NORMAL, ccCause, cisco, meta);
            x.tc.cc = CallControlTerminalConnection.DROPPED;
            emit(CallCtlTermConnDroppedEv.class, c, x, x.tc, Ev.CAUSE_NORMAL, ccCause, cisco, meta);
        }
        x.core = Connection.DISCONNECTED;
        emit(ConnDisconnectedEv.class, c, x, null, Ev.CAUSE_NORMAL, ccCause, cisco, meta);
        x.cc = CallControlConnection.DISCONNECTED;
        emit(CallCtlConnDisconnectedEv.class, c, x, null, Ev.CAUSE_NORMAL, ccCause, cisco, meta);
    }

    private void endCall(FCall c) {
        c.ended = true;
        emit(CallInvalidEv.class, c, null, null, Ev.CAUSE_NORMAL, 0, 0, Ev.META_CALL_ENDING);
        emit(CallObservationEndedEv.class, c, null, null, Ev.CAUSE_NORMAL, 0, 0, Ev.META_CALL_ENDING);
        calls.remove(c.gcid);
    }

    /**
     * Completes a consult transfer (or conference) of the controller's primary call (held)
     * and consult call: Start on both calls, the added party moved into the primary
     * call (CiscoCallChangedEv, its connection dropped in the consult call and created in
     * the primary call in the same states), the controller dropped from both calls
     * (transfer) or from the consult call and retrieving the primary call (conference),
     * End on both calls, then the empty consult call ends.
     */
    public void transfer(int primary, int consult, String controller) {
        feature(primary, consult, controller, false);
    }

    public void conference(int primary, int consult, String controller) {
        feature(primary, consult, controller, true);
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
            Map<String, Object> fx = Map.of("final", c1, "other", c2, "controller", b1);
            emitX(start, c1, null, null, Ev.CAUSE_NORMAL, ccCause, 0, meta, fx);
            emitX(start, c2, null, null, Ev.CAUSE_NORMAL, ccCause, 0, meta, fx);
            for (FConn o : new ArrayList<>(c2.live())) {
                if (o.line == b) {
                    continue;
                }
                FConn moved = new FConn(c1, o.line);
                moved.handle = o.handle;
                moved.cc = o.cc;
                moved.core = o.core;
                moved.reason = conference ? o.reason : CiscoConnection.REASON_TRANSFERREDCALL;
                c1.conns.add(moved);
                emitX(CiscoCallChangedEv.class, c1, moved, null, Ev.CAUSE_NORMAL, ccCause, 0, meta,
                        Map.of("original", c2, "surviving", c1));
                drop(c2, o, 16, ccCause, meta);
                emit(ConnCreatedEv.class, c1, moved, null, Ev.CAUSE_NORMAL, ccCause, 0, meta);
                emit(ConnConnectedEv.class, c1, moved, null, Ev.CAUSE_NORMAL, ccCause, 0, meta);
                emit(CallCtlConnEstablishedEv.class, c1, moved, null, Ev.CAUSE_NORMAL, ccCause, 0, meta);
                moved.tc = new FTermConn(moved, o.line.device);
                moved.tc.core = o.tc.core;
                moved.tc.cc = o.tc.cc;
                emit(TermConnCreatedEv.class, c1, moved, moved.tc, Ev.CAUSE_NORMAL, ccCause, 0, meta);
                emit(TermConnActiveEv.class, c1, moved, moved.tc, Ev.CAUSE_NORMAL, ccCause, 0, meta);
                emit(CallCtlTermConnTalkingEv.class, c1, moved, moved.tc, Ev.CAUSE_NORMAL, ccCause, 0, meta);
            }
            drop(c2, b2, 16, ccCause, meta);
            if (conference) {
                b1.tc.cc = CallControlTerminalConnection.TALKING;
                emit(CallCtlTermConnTalkingEv.class, c1, b1, b1.tc, Ev.CAUSE_NORMAL, ccCause, 0, meta);
            } else {
                drop(c1, b1, 16, ccCause, meta);
                FConn moved = c1.conns.get(c1.conns.size() - 1);
                c1.curCalled = moved.line;
                c1.lastRedir = b;
            }
            emitX(end, c1, null, null, Ev.CAUSE_NORMAL, ccCause, 0, meta, fx);
            emitX(end, c2, null, null, Ev.CAUSE_NORMAL, ccCause, 0, meta, fx);
            endCall(c2);
            mu.notifyAll();
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
                answerLocked(c, x);
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
