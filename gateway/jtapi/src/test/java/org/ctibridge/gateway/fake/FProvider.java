package org.ctibridge.gateway.fake;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import javax.telephony.Address;
import javax.telephony.AddressObserver;
import javax.telephony.Call;
import javax.telephony.CallObserver;
import javax.telephony.Connection;
import javax.telephony.InvalidArgumentException;
import javax.telephony.Provider;
import javax.telephony.ProviderObserver;
import javax.telephony.Terminal;
import javax.telephony.TerminalConnection;
import javax.telephony.TerminalObserver;
import javax.telephony.callcenter.RouteCallback;
import javax.telephony.callcenter.events.ReRouteEvent;
import javax.telephony.callcenter.events.RouteEndEvent;
import javax.telephony.callcenter.events.RouteEvent;
import javax.telephony.callcenter.events.RouteUsedEvent;
import javax.telephony.callcontrol.CallControlConnection;
import javax.telephony.callcontrol.CallControlTerminalConnection;
import javax.telephony.events.AddrEv;
import javax.telephony.events.CallEv;
import javax.telephony.events.Ev;
import javax.telephony.events.ProvEv;
import javax.telephony.events.ProvInServiceEv;
import javax.telephony.events.TermEv;

import com.cisco.jtapi.extensions.CiscoAddress;
import com.cisco.jtapi.extensions.CiscoCall;
import com.cisco.jtapi.extensions.CiscoCallEv;
import com.cisco.jtapi.extensions.CiscoCallID;
import com.cisco.jtapi.extensions.CiscoConnection;
import com.cisco.jtapi.extensions.CiscoMediaCapability;
import com.cisco.jtapi.extensions.CiscoMediaTerminal;
import com.cisco.jtapi.extensions.CiscoProvider;
import com.cisco.jtapi.extensions.CiscoRTPInputProperties;
import com.cisco.jtapi.extensions.CiscoRTPOutputProperties;
import com.cisco.jtapi.extensions.CiscoRouteAddress;
import com.cisco.jtapi.extensions.CiscoRouteEvent;
import com.cisco.jtapi.extensions.CiscoRouteSession;
import com.cisco.jtapi.extensions.CiscoRouteTerminal;
import com.cisco.jtapi.extensions.CiscoRouteUsedEvent;
import com.cisco.jtapi.extensions.CiscoTerminal;
import com.cisco.jtapi.extensions.CiscoTerminalConnection;

import org.ctibridge.gateway.fake.FakeCluster.FCall;
import org.ctibridge.gateway.fake.FakeCluster.FConn;
import org.ctibridge.gateway.fake.FakeCluster.FDevice;
import org.ctibridge.gateway.fake.FakeCluster.FLine;
import org.ctibridge.gateway.fake.FakeCluster.FTermConn;
import org.ctibridge.gateway.fake.FakeCluster.Parties;
import org.ctibridge.gateway.fake.FakeCluster.Spec;

/**
 * One provider of the double: its own proxies for the cluster's objects, its observers
 * and route callbacks, and its event thread.
 */
final class FProvider {
    final FakeCluster cluster;
    final String host;
    final String login;
    volatile int state = Provider.OUT_OF_SERVICE;
    final Object proxy;
    final ExecutorService events;
    private volatile Thread eventThread;

    final List<ProviderObserver> provObservers = new ArrayList<>();
    final Map<FDevice, List<TerminalObserver>> termObservers = new LinkedHashMap<>();
    final Map<FLine, List<AddressObserver>> addrObservers = new LinkedHashMap<>();
    final Map<FLine, List<CallObserver>> callObservers = new LinkedHashMap<>();
    final Map<FLine, RouteCallback> routeCallbacks = new LinkedHashMap<>();

    private final Map<Object, Object> proxies = java.util.Collections.synchronizedMap(new IdentityHashMap<>());
    private final Map<String, Object> routeSessionProxies = new java.util.concurrent.ConcurrentHashMap<>();
    /** While an event is delivered: its call and the call's parties as of the event. */
    private volatile FCall deliveringCall;
    private volatile Parties deliveringParties;

    FProvider(FakeCluster cluster, String host, String login) {
        this.cluster = cluster;
        this.host = host;
        this.login = login;
        this.events = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "jtapi-double-" + host);
            t.setDaemon(true);
            eventThread = t;
            return t;
        });
        this.proxy = Proxies.make("Provider(" + host + ")", providerMethods(), CiscoProvider.class);
    }

    void drain() throws InterruptedException {
        java.util.concurrent.CountDownLatch l = new java.util.concurrent.CountDownLatch(1);
        try {
            events.execute(l::countDown);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return;
        }
        l.await(30, TimeUnit.SECONDS);
    }

    private void later(Runnable r) {
        try {
            events.execute(() -> {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    System.err.println("JTAPI double: observer threw: " + e);
                    e.printStackTrace();
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // provider shut down
        }
    }

    // ---- proxies ------------------------------------------------------------------------

    private Proxies.Methods providerMethods() {
        return new Proxies.Methods()
                .on("getState", a -> state)
                .val("getName", host)
                .on("addObserver", a -> {
                    ProviderObserver o = (ProviderObserver) a[0];
                    synchronized (cluster.mu) {
                        provObservers.add(o);
                        if (state == Provider.OUT_OF_SERVICE) {
                            state = Provider.IN_SERVICE;
                            queueProv(ProvInServiceEv.class);
                        }
                    }
                    return null;
                })
                .on("removeObserver", a -> {
                    synchronized (cluster.mu) {
                        provObservers.remove(a[0]);
                    }
                    return null;
                })
                .on("getObservers", a -> provObservers.toArray(new ProviderObserver[0]))
                .on("getTerminals", a -> {
                    synchronized (cluster.mu) {
                        List<Terminal> ts = new ArrayList<>();
                        for (FDevice d : cluster.devices()) {
                            ts.add((Terminal) terminal(d));
                        }
                        return ts.toArray(new Terminal[0]);
                    }
                })
                .on("getTerminal", a -> {
                    synchronized (cluster.mu) {
                        FDevice d = cluster.device((String) a[0]);
                        if (d == null) {
                            sneaky(new InvalidArgumentException("no terminal " + a[0]));
                        }
                        return terminal(d);
                    }
                })
                .on("getAddress", a -> {
                    synchronized (cluster.mu) {
                        for (FDevice d : cluster.devices()) {
                            for (FLine l : d.lines) {
                                if (l.dn.equals(a[0])) {
                                    return address(l);
                                }
                            }
                        }
                        sneaky(new InvalidArgumentException("no address " + a[0]));
                        return null;
                    }
                })
                .val("getClusterID", "lab")
                .on("shutdown", a -> {
                    synchronized (cluster.mu) {
                        if (state != Provider.SHUTDOWN) {
                            state = Provider.SHUTDOWN;
                            cluster.removeProvider(this);
                        }
                    }
                    events.shutdown();
                    return null;
                });
    }

    @SuppressWarnings("unchecked")
    private static <E extends Throwable> void sneaky(Throwable e) throws E {
        throw (E) e;
    }

    Object terminal(FDevice d) {
        return proxies.computeIfAbsent(d, k -> {
            Class<?> iface = switch (d.type) {
                case "ctiport" -> CiscoMediaTerminal.class;
                case "routepoint" -> CiscoRouteTerminal.class;
                default -> CiscoTerminal.class;
            };
            Proxies.Methods m = new Proxies.Methods()
                    .val("getName", d.name)
                    .val("getTypeName", d.type.equals("phone") ? "Cisco 8841" : d.type.equals("ctiport") ? "CTI Port"
                            : "CTI Route Point")
                    .on("getAddresses", a -> {
                        synchronized (cluster.mu) {
                            List<Address> as = new ArrayList<>();
                            for (FLine l : d.lines) {
                                as.add((Address) address(l));
                            }
                            return as.toArray(new Address[0]);
                        }
                    })
                    .on("getState", a -> d.inService ? CiscoTerminal.IN_SERVICE : CiscoTerminal.OUT_OF_SERVICE)
                    .on("isRegistered", a -> d.inService)
                    .val("getProvider", proxy)
                    .on("addObserver", a -> {
                        synchronized (cluster.mu) {
                            termObservers.computeIfAbsent(d, x -> new ArrayList<>()).add((TerminalObserver) a[0]);
                        }
                        return null;
                    })
                    .on("removeObserver", a -> {
                        synchronized (cluster.mu) {
                            List<TerminalObserver> l = termObservers.get(d);
                            if (l != null) {
                                l.remove(a[0]);
                                if (l.isEmpty()) {
                                    termObservers.remove(d);
                                }
                            }
                        }
                        return null;
                    })
                    .on("register", a -> {
                        if (d.type.equals("routepoint")) {
                            cluster.registerRoutePoint(this, d);
                            return null;
                        }
                        try {
                            if (a.length >= 3 && a[0] instanceof InetAddress ip) {
                                cluster.registerPort(this, d, ip, (Integer) a[1], (CiscoMediaCapability[]) a[2]);
                            } else {
                                cluster.registerPort(this, d, null, 0, (CiscoMediaCapability[]) a[0]);
                            }
                        } catch (com.cisco.jtapi.extensions.CiscoRegistrationException e) {
                            sneaky(e);
                        }
                        return null;
                    })
                    .on("unregister", a -> {
                        synchronized (cluster.mu) {
                            if (d.registeredBy == this) {
                                d.registeredBy = null;
                            }
                        }
                        return null;
                    })
                    .on("isRegisteredByThisApp", a -> d.registeredBy == this)
                    .on("getTerminalConnections", a -> new TerminalConnection[0]);
            return Proxies.make("Terminal(" + d.name + ")", m, iface);
        });
    }

    Object address(FLine l) {
        return proxies.computeIfAbsent(l, k -> {
            boolean rp = l.device != null && l.device.type.equals("routepoint");
            Proxies.Methods m = new Proxies.Methods()
                    .val("getName", l.dn)
                    .val("getPartition", "")
                    .val("getProvider", proxy)
                    .on("getTerminals", a -> {
                        if (l.device == null) {
                            return null;
                        }
                        List<Terminal> ts = new ArrayList<>();
                        for (FDevice d : l.devices) {
                            ts.add((Terminal) terminal(d));
                        }
                        return ts.toArray(new Terminal[0]);
                    })
                    .on("addObserver", a -> {
                        synchronized (cluster.mu) {
                            addrObservers.computeIfAbsent(l, x -> new ArrayList<>()).add((AddressObserver) a[0]);
                        }
                        return null;
                    })
                    .on("removeObserver", a -> {
                        synchronized (cluster.mu) {
                            List<AddressObserver> o = addrObservers.get(l);
                            if (o != null) {
                                o.remove(a[0]);
                                if (o.isEmpty()) {
                                    addrObservers.remove(l);
                                }
                            }
                        }
                        return null;
                    })
                    .on("addCallObserver", a -> {
                        synchronized (cluster.mu) {
                            callObservers.computeIfAbsent(l, x -> new ArrayList<>()).add((CallObserver) a[0]);
                            snapshotTo(l, (CallObserver) a[0]);
                        }
                        return null;
                    })
                    .on("removeCallObserver", a -> {
                        synchronized (cluster.mu) {
                            List<CallObserver> o = callObservers.get(l);
                            if (o != null) {
                                o.remove(a[0]);
                                if (o.isEmpty()) {
                                    callObservers.remove(l);
                                }
                            }
                        }
                        return null;
                    })
                    .on("getConnections", a -> {
                        synchronized (cluster.mu) {
                            List<Connection> cs = new ArrayList<>();
                            for (FCall c : cluster.callsView().values()) {
                                FConn x = c.conn(l);
                                if (x != null && !x.lost) {
                                    cs.add((Connection) conn(x));
                                }
                            }
                            return cs.toArray(new Connection[0]);
                        }
                    })
                    .on("registerRouteCallback", a -> {
                        synchronized (cluster.mu) {
                            routeCallbacks.put(l, (RouteCallback) a[0]);
                            cluster.recoverRoutes(l);
                        }
                        return null;
                    })
                    .on("cancelRouteCallback", a -> {
                        synchronized (cluster.mu) {
                            routeCallbacks.remove(l);
                        }
                        return null;
                    });
            return rp ? Proxies.make("Address(" + l.dn + ")", m, CiscoAddress.class, CiscoRouteAddress.class)
                    : Proxies.make("Address(" + l.dn + ")", m, CiscoAddress.class);
        });
    }

    private Object addressOrNull(FLine l) {
        return l == null ? null : address(l);
    }

    /** The party getters answer as of the event being delivered, else as of now. */
    private Parties parties(FCall c) {
        if (Thread.currentThread() == eventThread && deliveringCall == c && deliveringParties != null) {
            return deliveringParties;
        }
        synchronized (cluster.mu) {
            return c.parties();
        }
    }

    Object call(FCall c) {
        return proxies.computeIfAbsent(c, k -> {
            Object id = Proxies.make("CallID(" + c.gcid + ")", new Proxies.Methods()
                    .val("getGlobalCallID", c.gcid).val("getCallManagerID", c.cmId).val("intValue", c.gcid),
                    CiscoCallID.class);
            Proxies.Methods m = new Proxies.Methods()
                    .val("getCallID", id)
                    .val("getProvider", proxy)
                    .on("getState", a -> c.ended ? Call.INVALID : Call.ACTIVE)
                    .on("getCallingAddress", a -> addressOrNull(parties(c).calling()))
                    .on("getCalledAddress", a -> addressOrNull(parties(c).called()))
                    .on("getCurrentCallingAddress", a -> addressOrNull(parties(c).curCalling()))
                    .on("getCurrentCalledAddress", a -> addressOrNull(parties(c).curCalled()))
                    .on("getLastRedirectedAddress", a -> addressOrNull(parties(c).lastRedir()))
                    .on("getConnections", a -> {
                        synchronized (cluster.mu) {
                            List<Connection> cs = new ArrayList<>();
                            for (FConn x : c.conns) {
                                if (x.cc != CallControlConnection.DISCONNECTED && !x.lost) {
                                    cs.add((Connection) conn(x));
                                }
                            }
                            return cs.toArray(new Connection[0]);
                        }
                    });
            return Proxies.make("Call(" + c.gcid + ")", m, CiscoCall.class);
        });
    }

    Object conn(FConn x) {
        return proxies.computeIfAbsent(x, k -> {
            Proxies.Methods m = new Proxies.Methods()
                    .on("getAddress", a -> address(x.line))
                    .on("getCall", a -> call(x.call))
                    .on("getState", a -> x.core)
                    .on("getCallControlState", a -> x.cc)
                    .on("getReason", a -> x.reason)
                    .on("getTerminalConnections", a -> {
                        synchronized (cluster.mu) {
                            List<TerminalConnection> ts = new ArrayList<>();
                            for (FTermConn t : x.tcs) {
                                ts.add((TerminalConnection) termConn(t));
                            }
                            return ts.toArray(new TerminalConnection[0]);
                        }
                    });
            return Proxies.make("Connection(" + x.line.dn + "@" + x.call.gcid + ")", m, CiscoConnection.class);
        });
    }

    Object termConn(FTermConn t) {
        return proxies.computeIfAbsent(t, k -> {
            Proxies.Methods m = new Proxies.Methods()
                    .on("getConnection", a -> conn(t.conn))
                    .on("getTerminal", a -> terminal(t.device))
                    .on("getState", a -> t.core)
                    .on("getCallControlState", a -> t.cc)
                    .on("answer", a -> {
                        cluster.answerFromApp(t.conn.call, t.conn);
                        return null;
                    });
            return Proxies.make("TerminalConnection(" + t.device.name + "@" + t.conn.call.gcid + ")", m,
                    CiscoTerminalConnection.class);
        });
    }

    // ---- events -------------------------------------------------------------------------

    boolean observes(FCall c) {
        for (FConn x : c.conns) {
            if (callObservers.containsKey(x.line)) {
                return true;
            }
        }
        return false;
    }

    private List<CallObserver> observersOf(FCall c) {
        List<CallObserver> out = new ArrayList<>();
        for (FConn x : c.conns) {
            List<CallObserver> os = callObservers.get(x.line);
            if (os == null) {
                continue;
            }
            for (CallObserver o : os) {
                if (!out.contains(o)) {
                    out.add(o);
                }
            }
        }
        return out;
    }

    /**
     * Queues a call event for the call observers of the call's lines, except those that
     * also observe call except (may be null); called with cluster.mu held.
     */
    void queueCall(Spec s, FCall c, FCall except) {
        List<CallObserver> obs = observersOf(c);
        if (except != null) {
            obs.removeAll(observersOf(except));
        }
        if (obs.isEmpty()) {
            return;
        }
        CallEv ev = callEvent(s);
        later(() -> {
            deliveringCall = s.call();
            deliveringParties = s.parties();
            try {
                for (CallObserver o : obs) {
                    o.callChangedEvent(new CallEv[] {ev});
                }
            } finally {
                deliveringCall = null;
                deliveringParties = null;
            }
        });
    }

    private CallEv callEvent(Spec s) {
        Class<?> iface = s.iface();
        FCall c = s.call();
        Parties p = s.parties();
        Proxies.Methods m = new Proxies.Methods()
                .val("getID", Proxies.eventId(iface))
                .val("getCause", s.cause())
                .val("getMetaCode", s.meta())
                .val("isNewMetaEvent", false)
                .val("getCallControlCause", s.ccCause())
                .val("getCiscoCause", s.ciscoCause())
                .val("getCiscoFeatureReason", 0)
                .val("getCall", call(c))
                .val("getObserved", call(c))
                .val("getCallingAddress", addressOrNull(p.calling()))
                .val("getCalledAddress", addressOrNull(p.called()))
                .val("getLastRedirectedAddress", addressOrNull(p.lastRedir()))
                .val("getCallingTerminal", p.calling() != null && p.calling().device != null
                        ? terminal(p.calling().device) : null);
        if (s.conn() != null) {
            m.val("getConnection", conn(s.conn()));
        }
        if (s.tc() != null) {
            m.val("getTerminalConnection", termConn(s.tc()));
        }
        Map<String, Object> x = s.extra();
        if (x.containsKey("final")) {
            Object fin = call((FCall) x.get("final"));
            Object other = call((FCall) x.get("other"));
            FConn ctl = (FConn) x.get("controller");
            Object ctlAddr = address(ctl.line);
            FTermConn ctlT = ctl.tcs.isEmpty() ? null : ctl.tcs.get(0);
            Object ctlTc = ctlT != null ? termConn(ctlT) : null;
            m.val("getFinalCall", fin).val("getTransferredCall", other).val("getConferencedCall", other)
                    .val("getConferencedCalls", new Call[] {(Call) other})
                    .val("getTransferControllerAddress", ctlAddr).val("getConferenceControllerAddress", ctlAddr)
                    .val("getOriginalConferenceControllerAddress", ctlAddr)
                    .val("getControllerTerminalName", ctlT != null ? ctlT.device.name : ctl.line.device.name)
                    .val("getTransferController", ctlTc).val("getHeldConferenceController", ctlTc)
                    .val("getTalkingConferenceController", ctlTc).val("isSuccess", x.get("success"))
                    .val("getFailedCalls", new Call[0]);
        }
        if (x.containsKey("original")) {
            m.val("getOriginalCall", call((FCall) x.get("original")))
                    .val("getSurvivingCall", call((FCall) x.get("surviving")));
        }
        Class<?>[] ifaces = iface.getName().startsWith("com.cisco") ? new Class<?>[] {iface}
                : new Class<?>[] {iface, CiscoCallEv.class};
        return (CallEv) Proxies.make(iface.getSimpleName(), m, ifaces);
    }

    void queueProv(Class<?> iface) {
        List<ProviderObserver> obs = new ArrayList<>(provObservers);
        ProvEv ev = (ProvEv) Proxies.make(iface.getSimpleName(), new Proxies.Methods()
                .val("getID", Proxies.eventId(iface)).val("getCause", Ev.CAUSE_NORMAL).val("getMetaCode", 0)
                .val("isNewMetaEvent", false).val("getProvider", proxy).val("getObserved", proxy), iface);
        later(() -> {
            for (ProviderObserver o : obs) {
                o.providerChangedEvent(new ProvEv[] {ev});
            }
        });
    }

    /** CiscoProvTerminalRegisteredEv / UnRegisteredEv (reason UNKNOWN) to the provider observers. */
    void queueRegistration(FDevice d, boolean registered) {
        Class<?> iface = registered ? com.cisco.jtapi.extensions.CiscoProvTerminalRegisteredEv.class
                : com.cisco.jtapi.extensions.CiscoProvTerminalUnRegisteredEv.class;
        List<ProviderObserver> obs = new ArrayList<>(provObservers);
        ProvEv ev = (ProvEv) Proxies.make(iface.getSimpleName(), new Proxies.Methods()
                .val("getID", Proxies.eventId(iface)).val("getCause", Ev.CAUSE_NORMAL).val("getMetaCode", 0)
                .val("isNewMetaEvent", false).val("getProvider", proxy).val("getObserved", proxy)
                .val("getTerminal", terminal(d)).val("getReason", 0).val("getCiscoCause", 0), iface);
        later(() -> {
            for (ProviderObserver o : obs) {
                o.providerChangedEvent(new ProvEv[] {ev});
            }
        });
    }

    void queueAddr(Class<?> iface, FLine l, FDevice d, int cause) {
        List<AddressObserver> obs = new ArrayList<>(addrObservers.getOrDefault(l, List.of()));
        AddrEv ev = (AddrEv) Proxies.make(iface.getSimpleName(), new Proxies.Methods()
                .val("getID", Proxies.eventId(iface)).val("getCause", cause).val("getMetaCode", 0)
                .val("isNewMetaEvent", false).val("getAddress", address(l)).val("getObserved", address(l))
                .val("getTerminal", terminal(d)), iface);
        later(() -> {
            for (AddressObserver o : obs) {
                o.addressChangedEvent(new AddrEv[] {ev});
            }
        });
    }

    void queueTerm(Class<?> iface, FDevice d, int cause, Map<String, Object> x) {
        List<TerminalObserver> obs = new ArrayList<>(termObservers.getOrDefault(d, List.of()));
        Proxies.Methods m = new Proxies.Methods()
                .val("getID", Proxies.eventId(iface)).val("getCause", cause).val("getMetaCode", 0)
                .val("isNewMetaEvent", false).val("getTerminal", terminal(d)).val("getObserved", terminal(d));
        if (x.containsKey("call")) {
            FCall c = (FCall) x.get("call");
            m.val("getCallID", ((CiscoCall) call(c)).getCallID()).val("getMediaConnectionMode", 0);
        }
        if (x.containsKey("ip")) {
            InetAddress ip;
            try {
                ip = InetAddress.getByName((String) x.get("ip"));
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e);
            }
            int port = (Integer) x.get("port");
            Proxies.Methods pm = new Proxies.Methods().val("getRemoteAddress", ip).val("getRemotePort", port)
                    .val("getLocalAddress", ip).val("getLocalPort", port).val("getPayloadType", d.payload)
                    .val("getPacketSize", d.packetMs);
            m.val("getRTPOutputProperties", Proxies.make("RTPOutput", pm, CiscoRTPOutputProperties.class))
                    .val("getRTPInputProperties", Proxies.make("RTPInput", pm, CiscoRTPInputProperties.class));
        }
        TermEv ev = (TermEv) Proxies.make(iface.getSimpleName(), m, iface);
        later(() -> {
            for (TerminalObserver o : obs) {
                o.terminalChangedEvent(new TermEv[] {ev});
            }
        });
    }

    /** Queues a route event for the route point's callback. */
    void queueRoute(Class<?> iface, FCall c, FLine rp, FLine used, int cause) {
        RouteCallback cb = routeCallbacks.get(rp);
        if (cb == null) {
            return;
        }
        Object session = routeSessionProxies.computeIfAbsent(c.gcid + "/" + c.routeSession, k -> Proxies.make(
                "RouteSession(" + c.gcid + ")", new Proxies.Methods()
                        .val("getRouteAddress", address(rp))
                        .val("getCall", call(c))
                        .on("getState", a -> 1)
                        .on("getCause", a -> routeCause.getOrDefault(c, 100))
                        .on("selectRoute", a -> {
                            cluster.selectRoute(this, c, (String[]) a[0]);
                            return null;
                        }), CiscoRouteSession.class));
        Parties p = c.parties();
        Proxies.Methods m = new Proxies.Methods().val("getRouteSession", session)
                .val("getCallingAddress", addressOrNull(p.calling()))
                .val("getCurrentRouteAddress", address(rp))
                .val("getCallingTerminal", p.calling() != null && p.calling().device != null
                        ? terminal(p.calling().device) : null)
                .val("getRouteUsed", addressOrNull(used)).val("getDomain", true).val("getRouteSelectedIndex", 0);
        Class<?> impl = iface == RouteEvent.class ? CiscoRouteEvent.class
                : iface == RouteUsedEvent.class ? CiscoRouteUsedEvent.class : iface;
        Object ev = Proxies.make(iface.getSimpleName(), m, impl);
        later(() -> {
            routeCause.put(c, cause);
            if (ev instanceof RouteEvent r) {
                cb.routeEvent(r);
            } else if (ev instanceof RouteUsedEvent r) {
                cb.routeUsedEvent(r);
            } else if (ev instanceof ReRouteEvent r) {
                cb.reRouteEvent(r);
            } else if (ev instanceof RouteEndEvent r) {
                cb.routeEndEvent(r);
            }
        });
    }

    private final Map<FCall, Integer> routeCause = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * The snapshot JTAPI delivers when a call observer is added to an address with calls
     * in progress: each call's connections in their current states, cause SNAPSHOT and
     * meta SNAPSHOT.
     */
    private void snapshotTo(FLine l, CallObserver o) {
        if (l.device != null && l.device.type.equals("routepoint")) {
            // "No call snapshot, however, gets delivered to the RouteAddresses" (G15-199,
            // CTIManager failure): their calls are recovered through the route callback.
            return;
        }
        for (FCall c : cluster.callsView().values()) {
            if (c.conn(l) == null || c.conn(l).lost) {
                continue;
            }
            List<CallEv> evs = new ArrayList<>();
            for (FConn x : c.conns) {
                if (x.cc == CallControlConnection.DISCONNECTED || x.lost) {
                    continue;
                }
                Class<?> st = ccEvent(x.cc);
                evs.add(callEvent(new Spec(javax.telephony.events.ConnCreatedEv.class, c, x, null, Ev.CAUSE_SNAPSHOT,
                        0, 0, Ev.META_SNAPSHOT, c.parties(), Map.of())));
                if (st != null) {
                    evs.add(callEvent(new Spec(st, c, x, null, Ev.CAUSE_SNAPSHOT, 0, 0, Ev.META_SNAPSHOT, c.parties(),
                            Map.of())));
                }
                for (FTermConn t : x.tcs) {
                    Class<?> tst = tcEvent(t.cc);
                    evs.add(callEvent(new Spec(javax.telephony.events.TermConnCreatedEv.class, c, x, t,
                            Ev.CAUSE_SNAPSHOT, 0, 0, Ev.META_SNAPSHOT, c.parties(), Map.of())));
                    if (tst != null) {
                        evs.add(callEvent(new Spec(tst, c, x, t, Ev.CAUSE_SNAPSHOT, 0, 0, Ev.META_SNAPSHOT,
                                c.parties(), Map.of())));
                    }
                }
            }
            Parties snap = c.parties();
            later(() -> {
                deliveringCall = c;
                deliveringParties = snap;
                try {
                    o.callChangedEvent(evs.toArray(new CallEv[0]));
                } finally {
                    deliveringCall = null;
                    deliveringParties = null;
                }
            });
        }
    }

    private static Class<?> ccEvent(int cc) {
        switch (cc) {
            case CallControlConnection.INITIATED: return javax.telephony.callcontrol.events.CallCtlConnInitiatedEv.class;
            case CallControlConnection.DIALING: return javax.telephony.callcontrol.events.CallCtlConnDialingEv.class;
            case CallControlConnection.OFFERED: return javax.telephony.callcontrol.events.CallCtlConnOfferedEv.class;
            case CallControlConnection.ALERTING: return javax.telephony.callcontrol.events.CallCtlConnAlertingEv.class;
            case CallControlConnection.ESTABLISHED: return javax.telephony.callcontrol.events.CallCtlConnEstablishedEv.class;
            default: return null;
        }
    }

    private static Class<?> tcEvent(int cc) {
        switch (cc) {
            case CallControlTerminalConnection.RINGING: return javax.telephony.callcontrol.events.CallCtlTermConnRingingEv.class;
            case CallControlTerminalConnection.TALKING: return javax.telephony.callcontrol.events.CallCtlTermConnTalkingEv.class;
            case CallControlTerminalConnection.HELD: return javax.telephony.callcontrol.events.CallCtlTermConnHeldEv.class;
            case CallControlTerminalConnection.INUSE: return javax.telephony.callcontrol.events.CallCtlTermConnInUseEv.class;
            default: return null;
        }
    }
}
