package org.ctibridge.gateway;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

import org.ctibridge.gateway.jtapi.ProviderOpener;

/**
 * The gateway: listens for bridges on the link protocol (plain TCP and/or TLS 1.3 with
 * client certificates) and serves each connection as one {@link LinkSession}, with its
 * own JTAPI provider on this gateway's single CTIManager.
 */
public final class Gateway implements AutoCloseable {
    private final GatewayConfig cfg;
    private final ProviderOpener opener;
    private final Log log;
    private final ScheduledExecutorService timer;
    private final List<ServerSocket> listeners = new ArrayList<>();
    private final Set<LinkSession> sessions = ConcurrentHashMap.newKeySet();
    private final AtomicLong sessionCount = new AtomicLong();
    private final AtomicLong framesSent = new AtomicLong();
    private final String runId = Long.toString(System.currentTimeMillis() % 100_000_000L, 36);
    private volatile boolean closed;
    private ServerSocket plain;
    private ServerSocket secure;

    public Gateway(GatewayConfig cfg, ProviderOpener opener, Log log) {
        this.cfg = cfg;
        this.opener = opener;
        this.log = log.with("gateway");
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "gw-heartbeats");
            t.setDaemon(true);
            return t;
        });
    }

    /** Binds the listeners and starts accepting. */
    public void start() throws IOException, GeneralSecurityException {
        if (!cfg.listen.isEmpty()) {
            plain = new ServerSocket();
            plain.setReuseAddress(true);
            plain.bind(address(cfg.listen));
            listeners.add(plain);
            acceptLoop(plain, false);
        }
        if (!cfg.tlsListen.isEmpty()) {
            SSLContext ctx = Tls.serverContext(Path.of(cfg.tlsCert), Path.of(cfg.tlsKey), Path.of(cfg.tlsClientCA));
            SSLServerSocket s = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket();
            s.setEnabledProtocols(new String[] {"TLSv1.3"});
            s.setNeedClientAuth(true);
            s.setReuseAddress(true);
            s.bind(address(cfg.tlsListen));
            secure = s;
            listeners.add(s);
            acceptLoop(s, true);
        }
        log.info("gateway listening", "ctimanager", cfg.ctiManagerHost, "name", cfg.name, "listen", cfg.listen,
                "port", port(), "tlsListen", cfg.tlsListen, "tlsPort", tlsPort());
    }

    static InetSocketAddress address(String hostPort) {
        int i = hostPort.lastIndexOf(':');
        if (i < 0) {
            throw new IllegalArgumentException("address " + hostPort + ": want host:port");
        }
        String host = hostPort.substring(0, i);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = Integer.parseInt(hostPort.substring(i + 1));
        return host.isEmpty() ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
    }

    /** The bound plain port (0 when disabled). */
    public int port() {
        return plain != null ? plain.getLocalPort() : 0;
    }

    /** The bound TLS port (0 when disabled). */
    public int tlsPort() {
        return secure != null ? secure.getLocalPort() : 0;
    }

    private void acceptLoop(ServerSocket ss, boolean tls) {
        Thread t = new Thread(() -> {
            while (!closed) {
                Socket s;
                try {
                    s = ss.accept();
                } catch (IOException e) {
                    if (!closed) {
                        log.error("accept failed", "error", e.getMessage());
                    }
                    return;
                }
                Thread st = new Thread(() -> serve(s, tls), "gw-conn");
                st.setDaemon(true);
                st.start();
            }
        }, tls ? "gw-accept-tls" : "gw-accept");
        t.setDaemon(true);
        t.start();
    }

    private void serve(Socket s, boolean tls) {
        try {
            s.setTcpNoDelay(true);
        } catch (IOException e) {
            // not fatal
        }
        String cn = null;
        if (tls) {
            SSLSocket ss = (SSLSocket) s;
            try {
                ss.startHandshake();
                X509Certificate peer = (X509Certificate) ss.getSession().getPeerCertificates()[0];
                cn = Tls.commonName(peer);
            } catch (IOException e) {
                log.warn("TLS handshake with a bridge failed", "remote", String.valueOf(s.getRemoteSocketAddress()),
                        "error", e.getMessage());
                closeQuietly(s);
                return;
            }
        }
        String id = cfg.name + "-" + runId + "-" + sessionCount.incrementAndGet();
        if (id.length() > 128) {
            id = id.substring(id.length() - 128);
        }
        LinkSession ls = new LinkSession(s, cn, cfg, opener, timer, log, id, sessions::remove, framesSent);
        sessions.add(ls);
        if (closed) {
            ls.shutdown();
            return;
        }
        ls.run();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    /** Frames written to bridges since start, every session and type (heartbeats included). */
    public long framesSent() {
        return framesSent.get();
    }

    /** Number of sessions being served. */
    public int sessions() {
        return sessions.size();
    }

    /** Stops listening, ends every session (ProviderClosed UNEXPECTEDSHUTDOWN, providers shut down). */
    @Override
    public void close() {
        closed = true;
        for (ServerSocket s : listeners) {
            try {
                s.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
        for (LinkSession s : new ArrayList<>(sessions)) {
            s.shutdown();
        }
        timer.shutdownNow();
    }
}
