package org.ctibridge.gateway.jtapi;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

import javax.telephony.Address;
import javax.telephony.Call;
import javax.telephony.InvalidArgumentException;
import javax.telephony.Provider;
import javax.telephony.Terminal;
import javax.telephony.TerminalConnection;
import javax.telephony.callcenter.RouteAddress;
import javax.telephony.callcenter.RouteCallback;
import javax.telephony.callcenter.RouteSession;
import javax.telephony.callcenter.events.ReRouteEvent;
import javax.telephony.callcenter.events.RouteCallbackEndedEvent;
import javax.telephony.callcenter.events.RouteEndEvent;
import javax.telephony.callcenter.events.RouteEvent;
import javax.telephony.callcenter.events.RouteUsedEvent;
import javax.telephony.callcontrol.CallControlCallObserver;
import javax.telephony.callcontrol.events.CallCtlTermConnRingingEv;
import javax.telephony.events.AddrEv;
import javax.telephony.events.CallEv;
import javax.telephony.events.ProvEv;
import javax.telephony.events.ProvInServiceEv;
import javax.telephony.events.ProvOutOfServiceEv;
import javax.telephony.events.ProvShutdownEv;
import javax.telephony.events.TermEv;

import com.cisco.jtapi.extensions.CiscoAddrInServiceEv;
import com.cisco.jtapi.extensions.CiscoAddrOutOfServiceEv;
import com.cisco.jtapi.extensions.CiscoAddress;
import com.cisco.jtapi.extensions.CiscoAddressObserver;
import com.cisco.jtapi.extensions.CiscoCall;
import com.cisco.jtapi.extensions.CiscoCallID;
import com.cisco.jtapi.extensions.CiscoMediaCapability;
import com.cisco.jtapi.extensions.CiscoMediaOpenLogicalChannelEv;
import com.cisco.jtapi.extensions.CiscoMediaTerminal;
import com.cisco.jtapi.extensions.CiscoProvTerminalRegisteredEv;
import com.cisco.jtapi.extensions.CiscoProvTerminalUnRegisteredEv;
import com.cisco.jtapi.extensions.CiscoProvider;
import com.cisco.jtapi.extensions.CiscoProviderObserver;
import com.cisco.jtapi.extensions.CiscoRTPInputProperties;
import com.cisco.jtapi.extensions.CiscoRTPInputStartedEv;
import com.cisco.jtapi.extensions.CiscoRTPInputStoppedEv;
import com.cisco.jtapi.extensions.CiscoRTPOutputProperties;
import com.cisco.jtapi.extensions.CiscoRTPOutputStartedEv;
import com.cisco.jtapi.extensions.CiscoRTPOutputStoppedEv;
import com.cisco.jtapi.extensions.CiscoRTPParams;
import com.cisco.jtapi.extensions.CiscoRouteSession;
import com.cisco.jtapi.extensions.CiscoRouteTerminal;
import com.cisco.jtapi.extensions.CiscoTermInServiceEv;
import com.cisco.jtapi.extensions.CiscoTermOutOfServiceEv;
import com.cisco.jtapi.extensions.CiscoTermRegistrationFailedEv;
import com.cisco.jtapi.extensions.CiscoTerminal;
import com.cisco.jtapi.extensions.CiscoTerminalObserver;

import org.ctibridge.gateway.Log;
import org.ctibridge.gateway.link.Link;
import org.ctibridge.gateway.link.Out;
import org.ctibridge.gateway.link.Requests;

/**
 * The JTAPI side of one bridge session: one provider on one CTIManager, and the mapping
 * of the link's requests onto JTAPI calls and of JTAPI's events onto link messages
 * (docs/gateway.md "What maps to what"). Requests are called from the session's request
 * worker, one at a time; JTAPI delivers events on its own threads. Everything that
 * reads or changes the call model holds {@link #lock}, so a snapshot is never
 * interleaved with live events.
 */
public final class ProviderSession {
    /** Where link messages go and how the session ends. */
    public interface LinkSide {
        void send(Out msg);

        /** Sends ProviderClosed{reason, description} and closes the link. */
        void close(int reason, String description);
    }

    /** Settings of a session (from the gateway's configuration). */
    public record Settings(String ctiManagerHost, Map<Integer, String> callManagerNames, long openTimeoutMs,
            boolean ctiPortAutoAnswer, LongSupplier nowNs) {}

    private final Settings cfg;
    private final ProviderOpener opener;
    private final LinkSide link;
    private final Log log;
    private final Executor worker;
    private final Object lock = new Object();
    private final CallTracker tracker;

    private volatile Provider provider;
    private volatile boolean open;
    private volatile boolean closed;
    private final CountDownLatch inService = new CountDownLatch(1);
    private volatile String providerDown = "";

    private final Map<String, Terminal> terminals = new LinkedHashMap<>();
    /** Position of each terminal in JTAPI's list (the order a shared line's appearances are reported in). */
    private final Map<String, Integer> terminalOrder = new ConcurrentHashMap<>();
    private final Set<String> openDevices = ConcurrentHashMap.newKeySet();
    /** Open lines: dn → devices. */
    private final Map<String, Set<String>> openLines = new ConcurrentHashMap<>();
    private final Map<String, Requests.CTIPortRegister> ctiPorts = new ConcurrentHashMap<>();
    private final Set<String> routePoints = ConcurrentHashMap.newKeySet();
    private final Map<Long, RouteSession> routeSessions = new ConcurrentHashMap<>();
    private final Map<RouteSession, Long> routeIds = new ConcurrentHashMap<>();
    private final AtomicInteger lastRouteId = new AtomicInteger();

    private final Observers observers = new Observers();
    private final Router router = new Router();

    public ProviderSession(Settings cfg, ProviderOpener opener, LinkSide link, Executor worker, Log log) {
        this.cfg = cfg;
        this.opener = opener;
        this.link = link;
        this.worker = worker;
        this.log = log;
        this.tracker = new CallTracker(new LinesView(), link::send);
    }

    /** What the provider open reports back (ProviderOpenCompleted). */
    public record Opened(String clusterId, String loginUserName, int totalControllableDevices) {}

    /**
     * Opens the provider: JtapiPeer.getProvider with this gateway's CTIManager, then waits
     * for ProvInServiceEv (JTAPI's device list is reliable only after it, jtapi-facts §1),
     * bounded by the open timeout.
     */
    public Opened open(String login, String password, String appInfo, String instanceId) throws OpenFailure {
        String ps = providerString(cfg.ctiManagerHost, login, password, appInfo);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(cfg.openTimeoutMs);
        Provider p;
        try {
            p = opener.open(ps, login, instanceId);
        } catch (Exception e) {
            throw new OpenFailure(openFailureReason(e), "getProvider(" + redact(ps) + ") failed: " + describe(e), e);
        }
        if (p == null) {
            throw new OpenFailure(Link.CLOSE_PROVIDEROPENFAILURE, "getProvider returned no provider", null);
        }
        provider = p;
        try {
            p.addObserver(observers);
        } catch (Exception e) {
            shutdown();
            throw new OpenFailure(Link.CLOSE_PROVIDEROPENFAILURE, "Provider.addObserver failed: " + describe(e), e);
        }
        try {
            if (p.getState() != Provider.IN_SERVICE) {
                long wait = Math.max(0, deadline - System.nanoTime());
                if (!inService.await(wait, TimeUnit.NANOSECONDS)) {
                    shutdown();
                    throw new OpenFailure(Link.CLOSE_PROVIDEROPENFAILURE, "provider not in service within "
                            + cfg.openTimeoutMs + " ms (ProviderOpenRequestTimeout) on " + cfg.ctiManagerHost, null);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            shutdown();
            throw new OpenFailure(Link.CLOSE_PROVIDEROPENFAILURE, "interrupted while waiting for ProvInServiceEv", e);
        }
        if (!providerDown.isEmpty()) {
            shutdown();
            throw new OpenFailure(Link.CLOSE_PROVIDEROPENFAILURE, providerDown, null);
        }
        int n;
        String cluster = "";
        try {
            Terminal[] ts = p.getTerminals();
            n = ts == null ? 0 : ts.length;
            if (p instanceof CiscoProvider cp) {
                cluster = nullToEmpty(cp.getClusterID());
            }
        } catch (Exception e) {
            shutdown();
            throw new OpenFailure(Link.CLOSE_PROVIDEROPENFAILURE, "reading the control list failed: " + describe(e), e);
        }
        open = true;
        log.info("provider in service", "ctimanager", cfg.ctiManagerHost, "login", login, "devices", n);
        return new Opened(Requests.validName(cluster) ? cluster : "", login, n);
    }

    /** JTAPI's providerString (jtapi-facts §2): host;login=…;passwd=…[;appinfo=…]. */
    static String providerString(String host, String login, String password, String appInfo) {
        StringBuilder b = new StringBuilder(host).append(";login=").append(login).append(";passwd=").append(password);
        if (appInfo != null && !appInfo.isEmpty()) {
            b.append(";appinfo=").append(appInfo);
        }
        return b.toString();
    }

    static String redact(String providerString) {
        return providerString.replaceAll(";passwd=[^;]*", ";passwd=***");
    }

    /**
     * Cisco's jar reports a refused login and an unreachable CTIManager through the same
     * exception types (ProviderUnavailableException, PlatformException), with the detail in
     * the message only. A message naming the login or the credentials is a login refusal
     * (LOGINFAILED, which the bridge does not retry); anything else is an open failure
     * the bridge answers by trying its next CTIManager.
     */
    static int openFailureReason(Throwable e) {
        String m = describe(e).toLowerCase();
        if (m.contains("login") || m.contains("password") || m.contains("authenticat") || m.contains("credential")
                || m.contains("user id")) {
            if (!m.contains("timeout") && !m.contains("timed out") && !m.contains("unreachable")
                    && !m.contains("refused")) {
                return Link.CLOSE_LOGINFAILED;
            }
        }
        return Link.CLOSE_PROVIDEROPENFAILURE;
    }

    static String describe(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null && b.length() < 400; t = t.getCause()) {
            if (b.length() > 0) {
                b.append(": ");
            }
            b.append(t.getClass().getSimpleName());
            if (t.getMessage() != null) {
                b.append(" ").append(t.getMessage().replaceAll("[\\r\\n\\t]+", " ").trim());
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return b.length() > 400 ? b.substring(0, 400) : b.toString();
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }

    /** The control list as DeviceInfo objects (docs/protocol.md §7.3). */
    public List<Map<String, Object>> deviceList() {
        Terminal[] ts;
        try {
            ts = provider.getTerminals();
        } catch (Exception e) {
            log.error("Provider.getTerminals failed", "error", describe(e));
            ts = new Terminal[0];
        }
        List<Map<String, Object>> out = new ArrayList<>();
        synchronized (lock) {
            terminals.clear();
            terminalOrder.clear();
            for (Terminal t : ts == null ? new Terminal[0] : ts) {
                String name = t.getName();
                if (name == null || !Requests.validName(name) || name.isEmpty()) {
                    log.warn("terminal name the link cannot carry: left out of the device list", "name", name);
                    continue;
                }
                terminals.put(name, t);
                terminalOrder.putIfAbsent(name, terminalOrder.size());
                out.add(deviceInfo(t));
            }
        }
        return out;
    }

    private Map<String, Object> deviceInfo(Terminal t) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("name", t.getName());
        d.put("type", deviceType(t));
        String model = "";
        if (t instanceof CiscoTerminal ct) {
            try {
                model = nullToEmpty(ct.getTypeName());
            } catch (RuntimeException e) {
                model = "";
            }
        }
        if (!model.isEmpty() && Requests.validName(model)) {
            d.put("model", model);
        }
        d.put("callManager", "");
        List<Map<String, Object>> ls = new ArrayList<>();
        Address[] as = t.getAddresses();
        for (Address a : as == null ? new Address[0] : as) {
            if (ls.size() == Link.MAX_LINES_PER_DEVICE || a.getName() == null || a.getName().isEmpty()
                    || !Requests.validName(a.getName())) {
                continue;
            }
            Map<String, Object> l = new LinkedHashMap<>();
            l.put("dn", a.getName());
            if (a instanceof CiscoAddress ca) {
                String part = nullToEmpty(ca.getPartition());
                if (!part.isEmpty() && Requests.validName(part)) {
                    l.put("partition", part);
                }
            }
            ls.add(l);
        }
        d.put("lines", ls);
        boolean registered = false;
        boolean inSvc = false;
        if (t instanceof CiscoTerminal ct) {
            registered = ct.isRegistered();
            inSvc = ct.getState() == CiscoTerminal.IN_SERVICE;
        }
        d.put("registered", registered);
        d.put("inService", inSvc);
        return d;
    }

    static String deviceType(Terminal t) {
        if (t instanceof CiscoRouteTerminal) {
            return Link.DEVICE_ROUTEPOINT;
        }
        if (t instanceof CiscoMediaTerminal) {
            return Link.DEVICE_CTIPORT;
        }
        return Link.DEVICE_PHONE;
    }

    /** A request's outcome: a Result code (§8.7) and its detail. */
    public record Result(int code, String error) {
        static final Result OK = new Result(Link.RESULT_OK, "");
    }

    private Terminal terminal(String device) {
        synchronized (lock) {
            Terminal t = terminals.get(device);
            if (t != null) {
                return t;
            }
        }
        try {
            return provider.getTerminal(device);
        } catch (InvalidArgumentException e) {
            return null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    public Result openDevice(String device) {
        Terminal t = terminal(device);
        if (t == null) {
            return new Result(Link.RESULT_UNKNOWN_DEVICE, "no terminal " + device + " in the provider's control list");
        }
        if (openDevices.contains(device)) {
            return Result.OK;
        }
        try {
            t.addObserver(observers);
        } catch (Exception e) {
            return failure("Terminal.addObserver(" + device + ")", e);
        }
        openDevices.add(device);
        return Result.OK;
    }

    public Result closeDevice(String device) {
        Terminal t = terminal(device);
        if (t == null || !openDevices.remove(device)) {
            return new Result(Link.RESULT_NOT_OPEN, "device " + device + " is not open");
        }
        try {
            t.removeObserver(observers);
        } catch (RuntimeException e) {
            log.warn("Terminal.removeObserver failed", "device", device, "error", describe(e));
        }
        return Result.OK;
    }

    private Address address(Terminal t, String dn) {
        Address[] as = t.getAddresses();
        for (Address a : as == null ? new Address[0] : as) {
            if (dn.equals(a.getName())) {
                return a;
            }
        }
        return null;
    }

    public Result openLine(String device, String dn) {
        Terminal t = terminal(device);
        if (t == null) {
            return new Result(Link.RESULT_UNKNOWN_DEVICE, "no terminal " + device);
        }
        Address a = address(t, dn);
        if (a == null) {
            return new Result(Link.RESULT_UNKNOWN_DEVICE, "terminal " + device + " has no line " + dn);
        }
        Set<String> devs = openLines.computeIfAbsent(dn, k -> ConcurrentHashMap.newKeySet());
        if (devs.contains(device)) {
            return Result.OK;
        }
        boolean first = devs.isEmpty();
        devs.add(device);
        if (first) {
            try {
                a.addObserver(observers);
                // The call observer delivers a snapshot of the calls in progress (cause
                // SNAPSHOT): the tracker takes them in silently; the bridge's
                // SnapshotRequest reports them.
                a.addCallObserver(observers);
            } catch (Exception e) {
                devs.remove(device);
                return failure("Address.addCallObserver(" + dn + ")", e);
            }
        }
        return Result.OK;
    }

    public Result closeLine(String device, String dn) {
        Set<String> devs = openLines.get(dn);
        if (devs == null || !devs.remove(device)) {
            return new Result(Link.RESULT_NOT_OPEN, "line " + device + "/" + dn + " is not open");
        }
        if (devs.isEmpty()) {
            openLines.remove(dn);
            Terminal t = terminal(device);
            Address a = t != null ? address(t, dn) : null;
            if (a != null) {
                try {
                    a.removeCallObserver(observers);
                    a.removeObserver(observers);
                } catch (RuntimeException e) {
                    log.warn("Address.removeObserver failed", "line", dn, "error", describe(e));
                }
            }
        }
        return Result.OK;
    }

    /** CTIPortRegisterRequest → CiscoMediaTerminal.register with the same media parameters. */
    public Result registerCtiPort(Requests.CTIPortRegister r) {
        Terminal t = terminal(r.device());
        if (t == null) {
            return new Result(Link.RESULT_UNKNOWN_DEVICE, "no terminal " + r.device());
        }
        if (!(t instanceof CiscoMediaTerminal mt)) {
            return new Result(Link.RESULT_INVALID_REQUEST, r.device() + " is a " + deviceType(t) + ", not a CTI port");
        }
        Requests.CTIPortRegister prev = ctiPorts.get(r.device());
        if (prev != null) {
            return prev.equals(r) ? Result.OK
                    : new Result(Link.RESULT_MEDIA_CAPABILITY_MISMATCH, "already registered with other media parameters");
        }
        CiscoMediaCapability[] caps = Codecs.capabilities(r.media().codecs(), r.media().packetMs());
        try {
            if (!openDevices.contains(r.device())) {
                t.addObserver(observers);
            }
            if (r.dynamic()) {
                mt.register(caps);
            } else {
                mt.register(InetAddress.getByName(r.media().ip()), r.media().port(), caps);
            }
        } catch (Exception e) {
            return registrationFailure("CiscoMediaTerminal.register(" + r.device() + ")", e);
        }
        ctiPorts.put(r.device(), r);
        return Result.OK;
    }

    /** RoutePointRegisterRequest → CiscoRouteTerminal.register and a route callback on its addresses. */
    public Result registerRoutePoint(String device, boolean dynamicMedia) {
        Terminal t = terminal(device);
        if (t == null) {
            return new Result(Link.RESULT_UNKNOWN_DEVICE, "no terminal " + device);
        }
        if (!(t instanceof CiscoRouteTerminal rt)) {
            return new Result(Link.RESULT_INVALID_REQUEST, device + " is a " + deviceType(t) + ", not a route point");
        }
        if (routePoints.contains(device)) {
            return Result.OK;
        }
        // Known before the callback is registered: CTIManager offers the calls waiting at
        // the route point (recovered after a CTIManager failure, G15-199) right away.
        routePoints.add(device);
        try {
            if (!openDevices.contains(device)) {
                t.addObserver(observers);
            }
            rt.register(Codecs.capabilities(List.of(), 20),
                    dynamicMedia ? CiscoRouteTerminal.DYNAMIC_MEDIA_REGISTRATION : CiscoRouteTerminal.NO_MEDIA_REGISTRATION);
            for (Address a : t.getAddresses()) {
                if (a instanceof RouteAddress ra) {
                    ra.registerRouteCallback(router);
                }
            }
        } catch (Exception e) {
            routePoints.remove(device);
            return registrationFailure("CiscoRouteTerminal.register(" + device + ")", e);
        }
        return Result.OK;
    }

    public Result unregister(String device) {
        Terminal t = terminal(device);
        try {
            if (ctiPorts.remove(device) != null && t instanceof CiscoMediaTerminal mt) {
                mt.unregister();
                return Result.OK;
            }
            if (routePoints.remove(device) && t instanceof CiscoRouteTerminal rt) {
                for (Address a : t.getAddresses()) {
                    if (a instanceof RouteAddress ra) {
                        ra.cancelRouteCallback(router);
                    }
                }
                rt.unregister();
                return Result.OK;
            }
        } catch (Exception e) {
            return failure("unregister(" + device + ")", e);
        }
        return new Result(Link.RESULT_NOT_OPEN, "this session holds no registration of " + device);
    }

    private Result registrationFailure(String what, Exception e) {
        String d = describe(e);
        log.warn(what + " failed", "error", d);
        if (d.toLowerCase().contains("capabilit") || d.toLowerCase().contains("mismatch")) {
            return new Result(Link.RESULT_MEDIA_CAPABILITY_MISMATCH, what + ": " + d);
        }
        if (d.toLowerCase().contains("already")) {
            return new Result(Link.RESULT_ALREADY_REGISTERED, what + ": " + d);
        }
        return new Result(Link.RESULT_INVALID_STATE, what + ": " + d);
    }

    private Result failure(String what, Exception e) {
        String d = describe(e);
        log.warn(what + " failed", "error", d);
        if (e instanceof javax.telephony.PrivilegeViolationException) {
            return new Result(Link.RESULT_NOT_IN_CONTROL_LIST, what + ": " + d);
        }
        return new Result(Link.RESULT_INVALID_STATE, what + ": " + d);
    }

    /**
     * SnapshotRequest: the calls on the device's lines, as snapshot CallState messages,
     * sent under the lock (not interleaved with live events). Returns the count, or -1
     * when the device is unknown.
     */
    public int snapshot(String device) {
        Terminal t = terminal(device);
        if (t == null) {
            return -1;
        }
        List<Address> as = new ArrayList<>();
        for (Address a : t.getAddresses() == null ? new Address[0] : t.getAddresses()) {
            Set<String> devs = openLines.get(a.getName());
            if (devs != null && devs.contains(device)) {
                as.add(a);
            }
        }
        synchronized (lock) {
            return tracker.snapshot(device, as);
        }
    }

    /** RouteSelectRequest → RouteSession.selectRoute (JTAPI takes the first usable destination). */
    public Result routeSelect(long sessionId, List<String> destinations) {
        RouteSession rs = routeSessions.get(sessionId);
        if (rs == null) {
            return new Result(Link.RESULT_UNKNOWN_ROUTE_SESSION, "no route session " + sessionId);
        }
        try {
            rs.selectRoute(destinations.toArray(new String[0]));
        } catch (Exception e) {
            return failure("RouteSession.selectRoute", e);
        }
        return Result.OK;
    }

    /** Ends the JTAPI side: Provider.shutdown (releases observers and registrations). */
    public void shutdown() {
        closed = true;
        Provider p = provider;
        if (p == null) {
            return;
        }
        try {
            p.removeObserver(observers);
        } catch (RuntimeException e) {
            // the provider may already be gone
        }
        try {
            p.shutdown();
        } catch (RuntimeException e) {
            log.warn("Provider.shutdown failed", "error", describe(e));
        }
        synchronized (lock) {
            tracker.clear();
        }
    }

    private boolean deviceOpen(String device) {
        return openDevices.contains(device) || ctiPorts.containsKey(device) || routePoints.contains(device);
    }

    /** What the call tracker sees of this session. */
    private final class LinesView implements CallTracker.Lines {
        @Override
        public List<String> openDevices(String dn) {
            Set<String> devs = openLines.get(dn);
            if (devs == null || devs.isEmpty()) {
                return List.of();
            }
            List<String> out = new ArrayList<>(devs);
            if (out.size() > 1) {
                // A shared line: its appearances in JTAPI's terminal order, whatever order
                // the bridge opened them in.
                out.sort(java.util.Comparator.comparing(d -> terminalOrder.getOrDefault(d, Integer.MAX_VALUE)));
            }
            return out;
        }

        @Override
        public String deviceOf(Address a) {
            Terminal[] ts;
            try {
                ts = a.getTerminals();
            } catch (RuntimeException e) {
                return "";
            }
            // Outside the provider: no terminal. A shared line: JTAPI's call parties name
            // the address, not the appearance; the first terminal JTAPI lists stands for it
            // (docs/gateway.md "What is lost in translation").
            if (ts == null || ts.length == 0 || ts[0] == null || ts[0].getName() == null) {
                return "";
            }
            return ts[0].getName();
        }

        @Override
        public String callManagerName(int id) {
            String n = cfg.callManagerNames.get(id);
            return n != null ? n : (id > 0 ? String.valueOf(id) : "");
        }

        @Override
        public long nowNs() {
            return cfg.nowNs.getAsLong();
        }
    }

    /** Provider, terminal, address and call observer in one object. */
    private final class Observers implements CiscoProviderObserver, CiscoTerminalObserver, CiscoAddressObserver,
            CallControlCallObserver {
        @Override
        public void providerChangedEvent(ProvEv[] evs) {
            for (ProvEv ev : evs) {
                if (ev instanceof ProvInServiceEv) {
                    inService.countDown();
                } else if (ev instanceof ProvOutOfServiceEv || ev instanceof ProvShutdownEv) {
                    String what = ev instanceof ProvShutdownEv ? "shut down" : "out of service";
                    providerLost("JTAPI provider " + what + " (CTIManager " + cfg.ctiManagerHost + ")");
                } else if (ev instanceof CiscoProvTerminalRegisteredEv r) {
                    registration(r.getTerminal(), true, Link.REG_UNKNOWN);
                } else if (ev instanceof CiscoProvTerminalUnRegisteredEv u) {
                    int reason = u.getReason();
                    registration(u.getTerminal(), false, reason >= 0 && reason <= 3 ? reason : Link.REG_UNKNOWN);
                }
            }
        }

        @Override
        public void terminalChangedEvent(TermEv[] evs) {
            for (TermEv ev : evs) {
                Terminal t = ev.getTerminal();
                String device = t != null ? t.getName() : "";
                if (!deviceOpen(device)) {
                    continue;
                }
                if (ev instanceof CiscoTermInServiceEv) {
                    deviceService(device, true, 0);
                } else if (ev instanceof CiscoTermOutOfServiceEv) {
                    deviceService(device, false, ev.getCause());
                } else if (ev instanceof CiscoTermRegistrationFailedEv f) {
                    log.warn("CTI port or route point registration failed", "device", device, "errorCode",
                            f.getErrorCode());
                } else {
                    media(device, ev);
                }
            }
        }

        @Override
        public void addressChangedEvent(AddrEv[] evs) {
            for (AddrEv ev : evs) {
                Address a = ev.getAddress();
                if (a == null) {
                    continue;
                }
                Terminal t = null;
                boolean in;
                if (ev instanceof CiscoAddrInServiceEv e) {
                    t = e.getTerminal();
                    in = true;
                } else if (ev instanceof CiscoAddrOutOfServiceEv e) {
                    t = e.getTerminal();
                    in = false;
                } else {
                    continue;
                }
                Set<String> devs = openLines.get(a.getName());
                if (devs == null) {
                    continue;
                }
                for (String device : devs) {
                    if (t != null && !device.equals(t.getName())) {
                        continue;
                    }
                    lineService(device, a.getName(), in, in ? 0 : ev.getCause());
                }
            }
        }

        @Override
        public void callChangedEvent(CallEv[] evs) {
            synchronized (lock) {
                if (closed) {
                    return;
                }
                tracker.onCallEvents(evs);
            }
            for (CallEv ev : evs) {
                if (ev instanceof CallCtlTermConnRingingEv r) {
                    autoAnswer(r.getTerminalConnection());
                }
            }
        }
    }

    /**
     * The link says CTIManager answers calls to a registered CTI port (docs/protocol.md
     * §12, "the server plays the IVR and answers"); with JTAPI the application owning the
     * port must. The gateway answers from its request worker — never on JTAPI's event
     * thread, which must not block on a CTI request.
     */
    private void autoAnswer(TerminalConnection tc) {
        if (!cfg.ctiPortAutoAnswer || tc == null || tc.getTerminal() == null
                || !ctiPorts.containsKey(tc.getTerminal().getName())) {
            return;
        }
        worker.execute(() -> {
            try {
                tc.answer();
            } catch (Exception e) {
                log.warn("answering a call on a CTI port failed", "device", tc.getTerminal().getName(), "error",
                        describe(e));
            }
        });
    }

    private void providerLost(String why) {
        if (!open) {
            providerDown = why;
            inService.countDown();
            return;
        }
        if (closed) {
            return;
        }
        log.warn("provider lost: closing the link so the bridge fails over", "ctimanager", cfg.ctiManagerHost,
                "why", why);
        // JTAPI's CTIManager-failure prelude (CallObservationEndedEv, Addr/Term out of
        // service with CTIMANAGER_FAILURE) is not forwarded: the bridge's engine
        // reproduces it when the link closes (docs/engine.md §6).
        link.close(Link.CLOSE_UNEXPECTEDSHUTDOWN, why);
    }

    private void registration(Terminal t, boolean registered, int reason) {
        if (t == null || !deviceOpen(t.getName())) {
            return;
        }
        link.send(Out.of(Link.DEVICE_REGISTRATION).put("device", t.getName()).put("registered", registered)
                .put("callManager", "").put("reason", reason).put("timeNs", cfg.nowNs.getAsLong()));
    }

    private void deviceService(String device, boolean in, int jtapiCause) {
        if (!in && jtapiCause == 1007) {
            return; // CTIMANAGER_FAILURE: part of the provider going out of service (see providerLost)
        }
        link.send(Out.of(Link.DEVICE_SERVICE).put("device", device).put("inService", in)
                .put("reason", in ? 0 : Link.oosReasonFromJtapi(jtapiCause)).put("timeNs", cfg.nowNs.getAsLong()));
    }

    private void lineService(String device, String dn, boolean in, int jtapiCause) {
        if (!in && jtapiCause == 1007) {
            return;
        }
        link.send(Out.of(Link.LINE_SERVICE).put("device", device).put("line", dn).put("inService", in)
                .put("reason", in ? 0 : Link.oosReasonFromJtapi(jtapiCause)).put("timeNs", cfg.nowNs.getAsLong()));
    }

    private void media(String device, TermEv ev) {
        String kind;
        String ip = "";
        int port = 0;
        int payload = -1;
        int packetMs = 0;
        CiscoCallID id = null;
        if (ev instanceof CiscoMediaOpenLogicalChannelEv e) {
            kind = Link.MEDIA_OPEN_LOGICAL_CHANNEL;
            payload = e.getPayLoadType();
            packetMs = e.getPacketSize();
            answerLogicalChannel(device, e);
        } else if (ev instanceof CiscoRTPOutputStartedEv e) {
            kind = Link.MEDIA_RTP_OUTPUT_STARTED;
            CiscoRTPOutputProperties p = e.getRTPOutputProperties();
            if (p != null) {
                ip = p.getRemoteAddress() != null ? p.getRemoteAddress().getHostAddress() : "";
                port = p.getRemotePort();
                payload = p.getPayloadType();
                packetMs = p.getPacketSize();
            }
            id = e.getCallID();
        } else if (ev instanceof CiscoRTPInputStartedEv e) {
            kind = Link.MEDIA_RTP_INPUT_STARTED;
            CiscoRTPInputProperties p = e.getRTPInputProperties();
            if (p != null) {
                ip = p.getLocalAddress() != null ? p.getLocalAddress().getHostAddress() : "";
                port = p.getLocalPort();
                payload = p.getPayloadType();
                packetMs = p.getPacketSize();
            }
            id = e.getCallID();
        } else if (ev instanceof CiscoRTPOutputStoppedEv e) {
            kind = Link.MEDIA_RTP_OUTPUT_STOPPED;
            id = e.getCallID();
        } else if (ev instanceof CiscoRTPInputStoppedEv e) {
            kind = Link.MEDIA_RTP_INPUT_STOPPED;
            id = e.getCallID();
        } else {
            return;
        }
        Terminal t = terminal(device);
        Address[] as = t != null ? t.getAddresses() : null;
        String line = as != null && as.length > 0 && as[0].getName() != null ? as[0].getName() : "";
        Requests.CTIPortRegister reg = ctiPorts.get(device);
        // JTAPI's RTP stopped events carry no address: report the one the stream started with.
        String stream = device + "/" + (id != null ? id.getGlobalCallID() : 0) + "/"
                + (kind.contains("Input") ? "in" : "out");
        if (kind.endsWith("Started")) {
            mediaStreams.put(stream, new Object[] {ip, port, payload, packetMs});
        } else if (kind.endsWith("Stopped")) {
            Object[] started = mediaStreams.remove(stream);
            if (started != null) {
                ip = (String) started[0];
                port = (Integer) started[1];
                payload = (Integer) started[2];
                packetMs = (Integer) started[3];
            }
        }
        Out o = Out.of(Link.MEDIA).put("kind", kind).put("device", device).opt("line", line)
                .put("globalCallId", id != null ? (long) id.getGlobalCallID() : 0L).put("callHandle", 0L)
                .opt("ip", ip).opt("port", port)
                .opt("codec", payload >= 0 ? Codecs.name(payload, reg != null ? reg.media().codecs() : List.of()) : "")
                .opt("packetMs", packetMs).put("timeNs", cfg.nowNs.getAsLong());
        link.send(o);
    }

    /**
     * Dynamic media: JTAPI asks the application where this call's RTP goes. The link has
     * no message for the answer (docs/gateway.md "What is lost"), so the gateway answers
     * with the media address of the registration request, when it named one.
     */
    private void answerLogicalChannel(String device, CiscoMediaOpenLogicalChannelEv e) {
        Requests.CTIPortRegister reg = ctiPorts.get(device);
        Terminal t = terminal(device);
        if (reg == null || reg.media().ip().isEmpty() || reg.media().port() <= 0 || !(t instanceof CiscoMediaTerminal mt)) {
            log.warn("dynamic media requested but no media address configured for the device", "device", device);
            return;
        }
        worker.execute(() -> {
            try {
                mt.setRTPParams(e.getCiscoRTPHandle(),
                        new CiscoRTPParams(InetAddress.getByName(reg.media().ip()), reg.media().port()));
            } catch (Exception ex) {
                log.warn("setRTPParams failed", "device", device, "error", describe(ex));
            }
        });
    }

    /** The route callback of every registered route point. */
    private final class Router implements RouteCallback {
        @Override
        public void routeEvent(RouteEvent ev) {
            RouteSession rs = ev.getRouteSession();
            long id = lastRouteId.incrementAndGet() & 0xffffffffL;
            if (id == 0) {
                id = lastRouteId.incrementAndGet();
            }
            routeSessions.put(id, rs);
            routeIds.put(rs, id);
            route(Link.ROUTE_ROUTE, rs, id, ev.getCallingAddress(), "", 100);
        }

        @Override
        public void reRouteEvent(ReRouteEvent ev) {
            RouteSession rs = ev.getRouteSession();
            Long id = routeIds.get(rs);
            if (id != null) {
                route(Link.ROUTE_REROUTE, rs, id, null, "", rs.getCause());
            }
        }

        @Override
        public void routeUsedEvent(RouteUsedEvent ev) {
            RouteSession rs = ev.getRouteSession();
            Long id = routeIds.get(rs);
            if (id != null) {
                Address used = ev.getRouteUsed();
                route(Link.ROUTE_USED, rs, id, ev.getCallingAddress(), used != null ? used.getName() : "", 100);
            }
        }

        @Override
        public void routeEndEvent(RouteEndEvent ev) {
            RouteSession rs = ev.getRouteSession();
            Long id = routeIds.remove(rs);
            if (id != null) {
                routeSessions.remove(id);
                int cause = rs.getCause();
                route(Link.ROUTE_END, rs, id, null, "", cause > 0 ? cause : 100);
            }
        }

        @Override
        public void routeCallbackEndedEvent(RouteCallbackEndedEvent ev) {
            RouteAddress a = ev.getRouteAddress();
            log.warn("route callback ended by JTAPI", "line", a != null ? a.getName() : "");
        }
    }

    private final Map<RouteSession, Map<String, Object>> routeCalling = new ConcurrentHashMap<>();
    /** Started RTP streams (device/call/direction) → ip, port, payload, packet ms. */
    private final Map<String, Object[]> mediaStreams = new ConcurrentHashMap<>();

    private void route(String kind, RouteSession rs, long id, Address calling, String selected, int cause) {
        RouteAddress ra = rs.getRouteAddress();
        String dn = ra != null ? ra.getName() : "";
        String device = "";
        Terminal[] ts = ra != null ? ra.getTerminals() : null;
        if (ts != null && ts.length > 0) {
            device = ts[0].getName();
        }
        if (!routePoints.contains(device)) {
            return;
        }
        long gcid = 0;
        Call call = rs instanceof CiscoRouteSession crs ? crs.getCall() : null;
        if (call instanceof CiscoCall cc && cc.getCallID() != null) {
            gcid = cc.getCallID().getGlobalCallID() & 0xffffffffL;
        }
        Map<String, Object> callingParty = Map.of();
        if (calling != null && calling.getName() != null) {
            callingParty = Out.party(calling.getName(), new LinesView().deviceOf(calling));
            routeCalling.put(rs, callingParty);
        } else {
            callingParty = routeCalling.getOrDefault(rs, Map.of());
        }
        if (Link.ROUTE_END.equals(kind)) {
            routeCalling.remove(rs);
        }
        link.send(Out.of(Link.ROUTE).put("kind", kind).put("device", device).put("line", dn).put("sessionId", id)
                .put("globalCallId", gcid).put("callHandle", 0L).put("calling", callingParty)
                .put("called", Out.party(dn, device)).opt("selected", selected).put("cause", cause)
                .put("timeNs", cfg.nowNs.getAsLong()));
    }
}
