package org.ctibridge.gateway.jtapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import org.ctibridge.gateway.GatewayConfig;
import org.ctibridge.gateway.Log;
import org.ctibridge.gateway.link.Link;

/**
 * Cisco's real JTAPI jar (the one on the class path: build.sh runs these tests against
 * each release) without a cluster: getProvider to a CTIManager that refuses the
 * connection, and to one that accepts it and never answers, fails within
 * ProviderOpenRequestTimeout, and the gateway turns the failure into the link's open
 * failure with JTAPI's reason in the description.
 */
class RealJarTest {
    private static final int OPEN_TIMEOUT_S = 10; // JTAPI's minimum ProviderOpenRequestTimeout

    /** A loopback address nobody listens on (127/8 is all loopback on Linux). */
    private static String randomLoopback() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return "127." + r.nextInt(1, 255) + "." + r.nextInt(1, 255) + "." + r.nextInt(1, 255);
    }

    private static OpenFailure openAgainst(String host) throws Exception {
        GatewayConfig cfg = GatewayConfig.load(null, Map.of(), Map.of("cti.manager", host,
                "jtapi.providerOpenRequestTimeout", String.valueOf(OPEN_TIMEOUT_S), "jtapi.socketConnectTimeout", "5"),
                CiscoOpener.jtapiVersion());
        Assumptions.assumeFalse(CiscoOpener.jtapiVersion().isEmpty(), "Cisco's JTAPI jar is not on the class path");
        ExecutorService worker = Executors.newSingleThreadExecutor();
        try {
            ProviderSession s = new ProviderSession(cfg.sessionSettings(), new CiscoOpener(cfg, Log.discard()),
                    new Recorder(), worker, Log.discard());
            return assertThrows(OpenFailure.class, () -> s.open("ctibridge", "secret", "realjar", ""));
        } finally {
            worker.shutdownNow();
        }
    }

    @Test
    void refusingCtiManager() throws Exception {
        long t0 = System.nanoTime();
        OpenFailure f = openAgainst(randomLoopback());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(Link.CLOSE_PROVIDEROPENFAILURE, f.reason, f.getMessage());
        assertTrue(f.getMessage().contains("Connection refused"), f.getMessage());
        assertTrue(ms < OPEN_TIMEOUT_S * 1000L, "a refused connection fails within the timeout, took " + ms + " ms");
    }

    @Test
    void silentCtiManager() throws Exception {
        String host = randomLoopback();
        ServerSocket ss = new ServerSocket();
        try {
            // JTAPI always dials port 2748: bind it on a loopback address of our own.
            ss.bind(new InetSocketAddress(InetAddress.getByName(host), 2748));
        } catch (IOException e) {
            ss.close();
            Assumptions.abort("cannot listen on " + host + ":2748 (" + e.getMessage() + ")");
        }
        List<Socket> accepted = new ArrayList<>();
        Thread acceptor = new Thread(() -> {
            try {
                while (true) {
                    accepted.add(ss.accept()); // keep it open, never answer
                }
            } catch (IOException e) {
                // closed
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
        try {
            long t0 = System.nanoTime();
            OpenFailure f = openAgainst(host);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(Link.CLOSE_PROVIDEROPENFAILURE, f.reason, f.getMessage());
            assertTrue(f.getMessage().contains("Unable to create provider"), f.getMessage());
            // Bounded by ProviderOpenRequestTimeout (plus JTAPI's own slack), not hanging.
            assertTrue(ms >= (OPEN_TIMEOUT_S - 1) * 1000L, "gave up before the timeout: " + ms + " ms");
            assertTrue(ms < 3L * OPEN_TIMEOUT_S * 1000L, "took " + ms + " ms");
        } finally {
            ss.close();
            for (Socket s : accepted) {
                s.close();
            }
        }
    }
}
