package org.ctibridge.gateway;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.ctibridge.gateway.jtapi.OpenFailure;
import org.ctibridge.gateway.jtapi.ProviderOpener;
import org.ctibridge.gateway.jtapi.ProviderSession;
import org.ctibridge.gateway.link.Body;
import org.ctibridge.gateway.link.Frame;
import org.ctibridge.gateway.link.Json;
import org.ctibridge.gateway.link.Link;
import org.ctibridge.gateway.link.LinkException;
import org.ctibridge.gateway.link.Out;
import org.ctibridge.gateway.link.Requests;

/**
 * One bridge session on the link protocol, server side (docs/protocol.md §9): framing and
 * sequence numbers, the two-phase open, heartbeats, and the requests, handed to the
 * session's {@link ProviderSession} one at a time on a worker thread (so a slow JTAPI
 * call never stops the reader, and requests are answered in the order received).
 */
public final class LinkSession implements ProviderSession.LinkSide {
    private enum State { AWAIT_OPEN, OPENING, OPEN, CLOSED }

    private final Socket socket;
    private final String tlsCommonName; // null on the plain port
    private final GatewayConfig cfg;
    private final ProviderOpener opener;
    private final ScheduledExecutorService timer;
    private final Log log;
    private final Consumer<LinkSession> onEnd;
    private final String providerId;
    private final ExecutorService worker;
    private final java.util.concurrent.atomic.AtomicLong framesSent;

    private final Object writeLock = new Object();
    private OutputStream out;
    private long sendSeq;
    private volatile long lastSentNs;
    private volatile long lastRecvNs;
    private final long acceptedNs;
    private long expectSeq = 1;

    private volatile State state = State.AWAIT_OPEN;
    private volatile long serverHbMs;
    private volatile long clientHbMs;
    private volatile ProviderSession jtapi;
    private ScheduledFuture<?> ticker;

    LinkSession(Socket socket, String tlsCommonName, GatewayConfig cfg, ProviderOpener opener,
            ScheduledExecutorService timer, Log log, String providerId, Consumer<LinkSession> onEnd,
            java.util.concurrent.atomic.AtomicLong framesSent) {
        this.socket = socket;
        this.tlsCommonName = tlsCommonName;
        this.cfg = cfg;
        this.opener = opener;
        this.timer = timer;
        this.providerId = providerId;
        this.log = log.with("session " + providerId);
        this.onEnd = onEnd;
        this.framesSent = framesSent;
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "gw-" + providerId);
            t.setDaemon(true);
            return t;
        });
        this.acceptedNs = System.nanoTime();
        this.lastRecvNs = acceptedNs;
        this.lastSentNs = acceptedNs;
    }

    String providerId() {
        return providerId;
    }

    /** Reads and serves the session until it ends. Runs on its own thread. */
    void run() {
        DataInputStream in;
        try {
            in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            synchronized (writeLock) {
                out = new BufferedOutputStream(socket.getOutputStream());
            }
        } catch (IOException e) {
            end("connection unusable: " + e.getMessage(), -1);
            return;
        }
        long tick = Math.max(20, Math.min(cfg.heartbeatMinMs, 1000) / 4);
        ticker = timer.scheduleAtFixedRate(() -> tick(System.nanoTime()), tick, tick, TimeUnit.MILLISECONDS);
        log.info("bridge connected", "remote", String.valueOf(socket.getRemoteSocketAddress()), "tls",
                tlsCommonName != null, "instanceId", tlsCommonName == null ? "" : tlsCommonName);
        while (state != State.CLOSED) {
            Frame f;
            try {
                f = Frame.read(in, Link.DEFAULT_MAX_FRAME);
            } catch (LinkException e) {
                sendError(e.reqSeq, e.code, e.getMessage());
                end("fatal frame error: " + e.getMessage(), -1);
                return;
            } catch (IOException e) {
                end(state == State.CLOSED ? "closed" : "connection lost: " + e.getMessage(), -1);
                return;
            }
            if (f == null) {
                end("connection closed by the bridge", -1);
                return;
            }
            lastRecvNs = System.nanoTime();
            if (f.seq != expectSeq) {
                log.error("sequence gap from the bridge: closing the session", "expected", expectSeq, "got", f.seq);
                end("sequence gap", -1);
                return;
            }
            expectSeq = (f.seq + 1) & 0xffffffffL;
            try {
                dispatch(f);
            } catch (LinkException e) {
                sendError(e.reqSeq != 0 ? e.reqSeq : f.seq, e.code, e.getMessage());
            }
        }
    }

    /** A request decoded and validated: its type, sequence and value. */
    record Request(int type, long seq, Object value) {}

    /** A route point registration request's fields. */
    record RoutePointRegister(String device, boolean dynamicMedia) {}

    /**
     * Decodes a frame the bridge sent (§3–§4): known type, right direction, a body of
     * the message's shape, valid fields. Everything a bridge can send goes through here
     * (FrameFuzzTest feeds it the protocol's fuzz corpus and mutations of it).
     */
    static Request decode(Frame f) throws LinkException {
        int t = f.type;
        long seq = f.seq;
        if (!Link.known(t)) {
            throw new LinkException(Link.ERR_UNKNOWN_TYPE, false, seq,
                    String.format("ctilink: unknown message type: 0x%04X", t));
        }
        if (!Link.fromClient(t)) {
            throw new LinkException(Link.ERR_UNEXPECTED, false, seq,
                    "ctilink: " + Link.typeName(t) + " is sent by the server, not the client");
        }
        Body b = Body.parse(t, seq, f.body);
        Object v = switch (t) {
            case Link.ERROR -> "reqSeq " + b.uint32("reqSeq") + " code " + b.uint16("code") + ": " + b.str("text");
            case Link.PROVIDER_OPEN_REQUEST -> Requests.providerOpen(b, seq);
            case Link.PROVIDER_CLOSE_REQUEST -> Requests.closeReason(b);
            case Link.DEVICE_OPEN_REQUEST, Link.DEVICE_CLOSE_REQUEST, Link.DEVICE_UNREGISTER_REQUEST,
                    Link.SNAPSHOT_REQUEST -> Requests.device(b, t, seq);
            case Link.LINE_OPEN_REQUEST, Link.LINE_CLOSE_REQUEST -> Requests.line(b, t, seq);
            case Link.CTI_PORT_REGISTER_REQUEST -> Requests.ctiPortRegister(b, seq);
            case Link.ROUTE_POINT_REGISTER_REQUEST ->
                    new RoutePointRegister(Requests.device(b, t, seq), b.bool("dynamicMedia"));
            case Link.ROUTE_SELECT_REQUEST -> Requests.routeSelect(b, seq);
            default -> ""; // Heartbeat, DeviceListRequest: no fields
        };
        return new Request(t, seq, v);
    }

    private void dispatch(Frame f) throws LinkException {
        Request r = decode(f);
        switch (r.type()) {
            case Link.HEARTBEAT:
                return;
            case Link.ERROR:
                log.warn("the bridge sent an Error", "error", r.value());
                return;
            case Link.PROVIDER_OPEN_REQUEST:
                providerOpen((Requests.ProviderOpen) r.value(), f.seq);
                return;
            case Link.PROVIDER_CLOSE_REQUEST:
                int reason = (Integer) r.value();
                log.info("provider close requested by the bridge", "reason", reason);
                end("closed at the bridge's request", reason);
                return;
            default:
                break;
        }
        if (state != State.OPEN) {
            throw new LinkException(Link.ERR_NOT_OPEN, false, f.seq,
                    "ctilink: " + Link.typeName(r.type()) + " before the provider is open");
        }
        Runnable job = job(r);
        try {
            worker.execute(job);
        } catch (RejectedExecutionException e) {
            // the session is ending
        }
    }

    /** The job that serves a request on the worker. */
    private Runnable job(Request r) {
        ProviderSession js = jtapi;
        long seq = r.seq();
        Object v = r.value();
        switch (r.type()) {
            case Link.DEVICE_LIST_REQUEST:
                return () -> deviceList(seq);
            case Link.DEVICE_OPEN_REQUEST:
                return () -> respond(seq, js.openDevice((String) v));
            case Link.DEVICE_CLOSE_REQUEST:
                return () -> respond(seq, js.closeDevice((String) v));
            case Link.LINE_OPEN_REQUEST:
                return () -> respond(seq, js.openLine(((String[]) v)[0], ((String[]) v)[1]));
            case Link.LINE_CLOSE_REQUEST:
                return () -> respond(seq, js.closeLine(((String[]) v)[0], ((String[]) v)[1]));
            case Link.CTI_PORT_REGISTER_REQUEST:
                return () -> respond(seq, js.registerCtiPort((Requests.CTIPortRegister) v));
            case Link.ROUTE_POINT_REGISTER_REQUEST: {
                RoutePointRegister rp = (RoutePointRegister) v;
                return () -> respond(seq, js.registerRoutePoint(rp.device(), rp.dynamicMedia()));
            }
            case Link.DEVICE_UNREGISTER_REQUEST:
                return () -> respond(seq, js.unregister((String) v));
            case Link.SNAPSHOT_REQUEST:
                return () -> snapshot(seq, (String) v);
            case Link.ROUTE_SELECT_REQUEST: {
                Requests.RouteSelect rs = (Requests.RouteSelect) v;
                return () -> respond(seq, js.routeSelect(rs.sessionId(), rs.destinations()));
            }
            default:
                return () -> { };
        }
    }

    private void providerOpen(Requests.ProviderOpen r, long seq) throws LinkException {
        if (state != State.AWAIT_OPEN) {
            throw new LinkException(Link.ERR_UNEXPECTED, false, seq, "ctilink: second ProviderOpenRequest");
        }
        int version = 0;
        for (long v : r.protocolVersions()) {
            for (int mine : Link.PROTOCOL_VERSIONS) {
                if (v == mine && mine > version) {
                    version = mine;
                }
            }
        }
        if (version == 0) {
            send(Out.of(Link.PROVIDER_OPEN_RESPONSE).put("reqSeq", seq).put("result", Link.RESULT_INVALID_REQUEST)
                    .put("protocolVersion", 0).put("serverHeartbeatMs", 0).put("clientHeartbeatMs", 0)
                    .put("providerId", providerId).put("ctiManager", cfg.name));
            String why = "no common protocol version: the bridge speaks " + r.protocolVersions() + ", the gateway "
                    + java.util.Arrays.toString(Link.PROTOCOL_VERSIONS);
            send(Out.of(Link.PROVIDER_OPEN_COMPLETED).put("reqSeq", seq).put("reason", Link.CLOSE_INCOMPATIBLEPROTOCOL)
                    .put("failureDescription", why).put("providerId", providerId).put("clusterId", "")
                    .put("loginUserName", "").put("totalControllableDevices", 0));
            end(why, Link.CLOSE_INCOMPATIBLEPROTOCOL);
            return;
        }
        long desired = r.desiredServerHeartbeatMs() > 0 ? r.desiredServerHeartbeatMs() : cfg.heartbeatDefaultMs;
        serverHbMs = Math.max(cfg.heartbeatMinMs, Math.min(cfg.heartbeatMaxMs, desired));
        clientHbMs = serverHbMs;
        send(Out.of(Link.PROVIDER_OPEN_RESPONSE).put("reqSeq", seq).put("result", Link.RESULT_OK)
                .put("protocolVersion", version).put("serverHeartbeatMs", serverHbMs)
                .put("clientHeartbeatMs", clientHbMs).put("providerId", providerId)
                .opt("serverInfo", cfg.serverInfo()).put("ctiManager", cfg.name));
        String instanceId = r.instanceId();
        if (tlsCommonName != null) {
            if (!instanceId.isEmpty() && !instanceId.equals(tlsCommonName)) {
                openFailed(seq, Link.CLOSE_USERNOTAUTHORIZEDFORSECURITY, "instanceId " + instanceId
                        + " is not the client certificate's CommonName " + tlsCommonName);
                return;
            }
            instanceId = tlsCommonName;
        }
        state = State.OPENING;
        jtapi = new ProviderSession(cfg.sessionSettings(), opener, this, worker, log);
        String inst = instanceId;
        try {
            worker.execute(() -> openProvider(seq, r, inst));
        } catch (RejectedExecutionException e) {
            // ended meanwhile
        }
    }

    private void openProvider(long seq, Requests.ProviderOpen r, String instanceId) {
        ProviderSession.Opened o;
        try {
            o = jtapi.open(r.login(), r.password(), r.appInfo(), instanceId);
        } catch (OpenFailure e) {
            log.warn("provider open failed", "ctimanager", cfg.ctiManagerHost, "reason", e.reason, "error",
                    e.getMessage());
            openFailed(seq, e.reason, e.getMessage());
            return;
        }
        if (state == State.CLOSED) {
            jtapi.shutdown();
            return;
        }
        state = State.OPEN;
        send(Out.of(Link.PROVIDER_OPEN_COMPLETED).put("reqSeq", seq).put("reason", Link.CLOSE_NONE)
                .put("providerId", providerId).put("clusterId", o.clusterId()).put("loginUserName", o.loginUserName())
                .put("totalControllableDevices", o.totalControllableDevices()));
    }

    private void openFailed(long seq, int reason, String why) {
        String d = why.length() > 1024 ? why.substring(0, 1024) : why;
        send(Out.of(Link.PROVIDER_OPEN_COMPLETED).put("reqSeq", seq).put("reason", reason)
                .put("failureDescription", d).put("providerId", providerId).put("clusterId", "")
                .put("loginUserName", "").put("totalControllableDevices", 0));
        end(d, reason);
    }

    private void deviceList(long seq) {
        List<Map<String, Object>> devices = jtapi.deviceList();
        int total = devices.size();
        // Pages of at most 500 devices that fit the bridge's default body limit (§9.3).
        int budget = Link.DEFAULT_MAX_FRAME - 512;
        List<Object> page = new ArrayList<>();
        int size = 0;
        for (Map<String, Object> d : devices) {
            int n = Json.encode(d).getBytes(StandardCharsets.UTF_8).length + 1;
            if (!page.isEmpty() && (page.size() == Link.MAX_DEVICES_PER_PAGE || size + n > budget)) {
                send(Out.of(Link.DEVICE_LIST_RESPONSE).put("reqSeq", seq).put("devices", page).put("more", true)
                        .put("total", total));
                page = new ArrayList<>();
                size = 0;
            }
            page.add(d);
            size += n;
        }
        send(Out.of(Link.DEVICE_LIST_RESPONSE).put("reqSeq", seq).put("devices", page).put("more", false)
                .put("total", total));
    }

    private void snapshot(long seq, String device) {
        int n = jtapi.snapshot(device);
        if (n < 0) {
            respond(seq, new ProviderSession.Result(Link.RESULT_UNKNOWN_DEVICE, "no terminal " + device));
            return;
        }
        send(Out.of(Link.SNAPSHOT_COMPLETED).put("reqSeq", seq).put("device", device).put("calls", n));
    }

    private void respond(long seq, ProviderSession.Result r) {
        send(Out.of(Link.RESPONSE).put("reqSeq", seq).put("result", r.code()).opt("error", clip(r.error(), 4096)));
    }

    private static String clip(String s, int max) {
        return s.length() > max ? s.substring(0, max) : s;
    }

    private void sendError(long reqSeq, int code, String text) {
        send(Out.of(Link.ERROR).put("reqSeq", reqSeq).put("code", code).put("text", clip(text, 512)));
    }

    /** Sends msg with the next sequence number; dropped once the session ended. */
    @Override
    public void send(Out msg) {
        synchronized (writeLock) {
            if (out == null || (state == State.CLOSED && msg.type != Link.PROVIDER_CLOSED)) {
                return;
            }
            byte[] body = msg.bodyBytes();
            if (body.length > Link.DEFAULT_MAX_FRAME) {
                log.error("message larger than the bridge's body limit: not sent", "type", Link.typeName(msg.type),
                        "bytes", body.length);
                return;
            }
            sendSeq = (sendSeq + 1) & 0xffffffffL;
            try {
                out.write(Frame.encode(msg.type, sendSeq, body));
                out.flush();
                lastSentNs = System.nanoTime();
                framesSent.incrementAndGet();
            } catch (IOException e) {
                log.warn("write to the bridge failed", "error", e.getMessage());
                closeSocket();
            }
        }
    }

    /** ProviderSession.LinkSide: the provider went away; close with the reason. */
    @Override
    public void close(int reason, String description) {
        end(description, reason);
    }

    /**
     * Heartbeats (§9.2): send one when nothing was sent for serverHeartbeatMs; drop a
     * bridge silent for twice clientHeartbeatMs; drop a connection that sends no
     * ProviderOpenRequest within the open timeout.
     */
    void tick(long now) {
        State s = state;
        if (s == State.CLOSED) {
            return;
        }
        if (s == State.AWAIT_OPEN) {
            if (now - acceptedNs > TimeUnit.MILLISECONDS.toNanos(cfg.openTimeoutMs)) {
                end("no ProviderOpenRequest within " + cfg.openTimeoutMs + " ms", -1);
            }
            return;
        }
        Heartbeats.Action a = Heartbeats.due(now, lastSentNs, lastRecvNs, serverHbMs, clientHbMs);
        if (a == Heartbeats.Action.DROP) {
            log.warn("bridge silent for twice its heartbeat interval: closing", "clientHeartbeatMs", clientHbMs);
            end("no frame from the bridge for " + 2 * clientHbMs + " ms", Link.CLOSE_HEARTBEAT_MISSED);
        } else if (a == Heartbeats.Action.SEND) {
            send(Out.of(Link.HEARTBEAT));
        }
    }

    /**
     * Ends the session: ProviderClosed{reason} when reason ≥ 0 (nothing follows it), the
     * connection closed, the JTAPI provider shut down on the worker.
     */
    void end(String why, int reason) {
        synchronized (writeLock) {
            if (state == State.CLOSED) {
                return;
            }
            state = State.CLOSED;
        }
        if (reason >= 0) {
            send(Out.of(Link.PROVIDER_CLOSED).put("reason", reason).opt("description", clip(why, 1024)));
        }
        log.info("session ended", "why", why, "reason", reason);
        closeSocket();
        if (ticker != null) {
            ticker.cancel(false);
        }
        ProviderSession js = jtapi;
        try {
            worker.execute(() -> {
                if (js != null) {
                    js.shutdown();
                }
            });
        } catch (RejectedExecutionException e) {
            // already shut down
        }
        worker.shutdown();
        onEnd.accept(this);
    }

    private void closeSocket() {
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    /** Stops the session at gateway shutdown: ProviderClosed{UNEXPECTEDSHUTDOWN}. */
    void shutdown() {
        end("gateway shutting down", Link.CLOSE_UNEXPECTEDSHUTDOWN);
        try {
            worker.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
