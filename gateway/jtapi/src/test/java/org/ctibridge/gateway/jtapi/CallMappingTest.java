package org.ctibridge.gateway.jtapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.ctibridge.gateway.Log;
import org.ctibridge.gateway.fake.FakeCluster;
import org.ctibridge.gateway.link.Link;
import org.ctibridge.gateway.link.Out;
import org.ctibridge.gateway.link.Requests;

/**
 * The JTAPI → link mapping, scenario by scenario: the JTAPI double plays a call as
 * Cisco's JTAPI reports it, and the line-level sequence the gateway sends must be the
 * one docs/protocol.md §12 specifies (and pkg/ctisim sends) for that scenario.
 */
class CallMappingTest {
    private FakeCluster cluster;
    private ExecutorService worker;
    private Recorder rec;
    private ProviderSession session;

    static FakeCluster labCluster() {
        return new FakeCluster(List.of(
                new FakeCluster.DeviceSpec("SEP0001", "phone", "cm1", List.of("1001")),
                new FakeCluster.DeviceSpec("SEP0002", "phone", "cm2", List.of("1002")),
                new FakeCluster.DeviceSpec("SEP0003", "phone", "cm1", List.of("1003")),
                new FakeCluster.DeviceSpec("SEP0004", "phone", "cm2", List.of("1004")),
                new FakeCluster.DeviceSpec("CTIP0001", "ctiport", "cm1", List.of("7001")),
                new FakeCluster.DeviceSpec("RP0001", "routepoint", "cm1", List.of("5000"))),
                Map.of("ctibridge", "secret"), Map.of("cm1", 1, "cm2", 2));
    }

    static ProviderSession.Settings settings(String host) {
        return new ProviderSession.Settings(host, Map.of(1, "cm1", 2, "cm2"), 10_000, true, () -> 1L);
    }

    @BeforeEach
    void open() throws Exception {
        cluster = labCluster();
        worker = Executors.newSingleThreadExecutor();
        rec = new Recorder();
        session = new ProviderSession(settings("ctim-a"), cluster.opener(), rec, worker, Log.discard());
        ProviderSession.Opened o = session.open("ctibridge", "secret", "test", "");
        assertEquals(6, o.totalControllableDevices());
        for (Map<String, Object> d : session.deviceList()) {
            String name = (String) d.get("name");
            assertEquals(Link.RESULT_OK, session.openDevice(name).code());
            for (Object l : (List<?>) d.get("lines")) {
                assertEquals(Link.RESULT_OK, session.openLine(name, (String) ((Map<?, ?>) l).get("dn")).code());
            }
        }
        assertEquals(Link.RESULT_OK, session.registerCtiPort(new Requests.CTIPortRegister("CTIP0001", false,
                new Requests.Media("127.0.0.1", 40002, List.of("G711U"), 20))).code());
        assertEquals(Link.RESULT_OK, session.registerRoutePoint("RP0001", false).code());
        cluster.drain();
        rec.clear();
    }

    @AfterEach
    void close() throws Exception {
        session.shutdown();
        worker.shutdown();
        worker.awaitTermination(5, TimeUnit.SECONDS);
        cluster.close();
    }

    private List<String> settle() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            cluster.drain();
            CompletableRun.drain(worker);
        }
        return rec.lines();
    }

    @Test
    void basicCall() throws Exception {
        int c = cluster.offhook("1001");
        cluster.dial(c, "1001", "1002");
        cluster.answer(c, "1002");
        cluster.hangup(c, "1001");
        assertEquals(List.of("1001 DIALTONE", "1001 DIALING", "1001 PROCEEDING", "1002 OFFERING", "1002 ACCEPTED",
                "1001 RINGBACK", "1002 CONNECTED", "1001 CONNECTED", "1001 DISCONNECTED 16",
                "1002 DISCONNECTED 16"), settle());
        Map<String, Object> first = rec.all().get(0).fields();
        assertEquals(1L, first.get("globalCallId"));
        assertEquals("cm1", first.get("callManager"));
        assertEquals(Boolean.TRUE, first.get("origin"));
        Map<String, Object> offering = rec.all().get(3).fields();
        assertEquals(Map.of("dn", "1001", "device", "SEP0001"), offering.get("calling"));
        assertEquals(Map.of("dn", "1002", "device", "SEP0002"), offering.get("currentCalled"));
    }

    @Test
    void holdAndResume() throws Exception {
        int c = cluster.offhook("1001");
        cluster.dial(c, "1001", "1002");
        cluster.answer(c, "1002");
        settle();
        rec.clear();
        cluster.hold(c, "1001");
        cluster.unhold(c, "1001");
        cluster.hangup(c, "1002");
        assertEquals(List.of("1001 ONHOLD", "1001 CONNECTED", "1002 DISCONNECTED 16", "1001 DISCONNECTED 16"),
                settle());
    }

    @Test
    void consultTransfer() throws Exception {
        int c1 = cluster.offhook("1001");
        cluster.dial(c1, "1001", "1002");
        cluster.answer(c1, "1002");
        cluster.hold(c1, "1002");
        int c2 = cluster.offhook("1002");
        cluster.dial(c2, "1002", "1003");
        cluster.answer(c2, "1003");
        settle();
        rec.clear();
        cluster.transfer(c1, c2, "1002");
        assertEquals(List.of("Feature transfer started 1002", "CallChanged 1003 2->1", "1002 DISCONNECTED 16",
                "1002 DISCONNECTED 16", "1001 CONNECTED", "1003 CONNECTED", "Feature transfer ended 1002"), settle());
        Map<String, Object> c = rec.all().get(5).fields();
        assertEquals(1L, c.get("globalCallId"));
        assertEquals(Link.REASON_TRANSFERREDCALL, c.get("reason"));
        assertEquals(Map.of("dn", "1001", "device", "SEP0001"), c.get("currentCalling"));
        assertEquals(Map.of("dn", "1002", "device", "SEP0002"), c.get("lastRedirecting"));
    }

    @Test
    void conference() throws Exception {
        int c1 = cluster.offhook("1001");
        cluster.dial(c1, "1001", "1002");
        cluster.answer(c1, "1002");
        cluster.hold(c1, "1002");
        int c2 = cluster.offhook("1002");
        cluster.dial(c2, "1002", "1003");
        cluster.answer(c2, "1003");
        settle();
        rec.clear();
        cluster.conference(c1, c2, "1002");
        cluster.hangup(c1, "1001");
        cluster.hangup(c1, "1002");
        assertEquals(List.of("Feature conference started 1002", "CallChanged 1003 2->1", "1002 DISCONNECTED 16",
                "1002 CONNECTED", "1003 CONNECTED", "Feature conference ended 1002", "1001 DISCONNECTED 16",
                "1002 DISCONNECTED 16", "1003 DISCONNECTED 16"), settle());
    }

    @Test
    void routePoint() throws Exception {
        int c = cluster.offhook("1004");
        cluster.dial(c, "1004", "5000");
        List<String> l = settle();
        assertEquals(List.of("1004 DIALTONE", "1004 DIALING", "1004 PROCEEDING", "5000 OFFERING", "Route route 100"),
                l);
        long sid = ((Number) rec.all().get(4).fields().get("sessionId")).longValue();
        rec.clear();
        assertEquals(Link.RESULT_OK, session.routeSelect(sid, List.of("1001", "1002")).code());
        cluster.answer(c, "1001");
        assertEquals(List.of("Route used 1001 100", "5000 DISCONNECTED 16", "1001 OFFERING", "1001 ACCEPTED",
                "1004 RINGBACK", "Route end 100", "1001 CONNECTED", "1004 CONNECTED"), settle());
        Map<String, Object> d = rec.all().get(2).fields();
        assertEquals(Link.REASON_REDIRECT, d.get("reason"));
        assertEquals(Map.of("dn", "5000", "device", "RP0001"), d.get("lastRedirecting"));
        assertEquals(Link.RESULT_UNKNOWN_ROUTE_SESSION, session.routeSelect(sid, List.of("1001")).code());
    }

    @Test
    void ctiPortAnsweredByTheGateway() throws Exception {
        int c = cluster.offhook("1004");
        cluster.dial(c, "1004", "7001");
        List<String> l = settle();
        assertEquals(List.of("1004 DIALTONE", "1004 DIALING", "1004 PROCEEDING", "7001 OFFERING", "7001 ACCEPTED",
                "1004 RINGBACK", "7001 CONNECTED", "1004 CONNECTED"), l.subList(0, 8));
        assertTrue(l.get(8).startsWith("Media rtpOutputStarted 10.16.0.4:"), l.get(8));
        assertEquals("Media rtpInputStarted 127.0.0.1:40002 G711U", l.get(9));
        rec.clear();
        cluster.hangup(c, "1004");
        List<String> end = settle();
        assertTrue(end.get(0).startsWith("Media rtpOutputStopped"), end.toString());
        assertEquals(List.of("1004 DISCONNECTED 16", "7001 DISCONNECTED 16"), end.subList(2, 4));
    }

    @Test
    void callingPartyTransformation() throws Exception {
        int c = cluster.offhook("1001");
        cluster.dialMasked(c, "1001", "1002", "800551001");
        cluster.answer(c, "1002");
        cluster.hangup(c, "1001");
        assertEquals(List.of("1001 DIALTONE", "1001 DIALING", "1001 PROCEEDING", "CallParty 1001 800551001 added",
                "1002 OFFERING", "1002 ACCEPTED", "1001 RINGBACK", "CallParty 1001 800551001 removed",
                "1002 CONNECTED", "1001 CONNECTED", "1001 DISCONNECTED 16", "1002 DISCONNECTED 16"), settle());
        Map<String, Object> offering = rec.all().get(4).fields();
        assertEquals(Map.of("dn", "1001", "device", "SEP0001"), offering.get("calling"));
        assertEquals(Map.of("dn", "800551001"), offering.get("currentCalling"));
        assertEquals(Boolean.TRUE, rec.all().get(3).fields().get("transient"));
    }

    @Test
    void snapshotReportsCallsInProgress() throws Exception {
        int c = cluster.offhook("1001");
        cluster.dial(c, "1001", "1002");
        cluster.answer(c, "1002");
        settle();
        rec.clear();
        assertEquals(1, session.snapshot("SEP0002"));
        assertEquals(List.of("1002 CONNECTED snapshot"), rec.lines());
        assertEquals(-1, session.snapshot("NOPE"));
    }

    @Test
    void callManagerNodeFailureIsDeviceAndLineService() throws Exception {
        cluster.setDeviceInService("SEP0001", false, 1001);
        cluster.setDeviceInService("SEP0001", true, 0);
        settle();
        List<String> got = new java.util.ArrayList<>();
        for (Out o : rec.all()) {
            Map<String, Object> f = o.fields();
            got.add(Link.typeName(o.type) + " " + f.getOrDefault("line", f.get("device")) + " "
                    + f.getOrDefault("inService", f.get("registered")) + " " + f.get("reason"));
        }
        assertEquals(List.of("DeviceRegistration SEP0001 false 0", "LineService 1001 false 1",
                "DeviceService SEP0001 false 1", "DeviceRegistration SEP0001 true 0", "LineService 1001 true 0",
                "DeviceService SEP0001 true 0"), got);
        assertEquals(-1, rec.closedReason, "a CallManager failure does not close the provider");
    }

    @Test
    void providerOutOfServiceClosesTheLink() throws Exception {
        cluster.failCtiManager("ctim-a");
        settle();
        assertEquals(Link.CLOSE_UNEXPECTEDSHUTDOWN, rec.closedReason);
        assertTrue(rec.closedWhy.contains("out of service"), rec.closedWhy);
        // The CTIManager-failure prelude is not forwarded: the engine reproduces it.
        for (Out o : rec.all()) {
            assertTrue(o.type != Link.DEVICE_SERVICE && o.type != Link.LINE_SERVICE, o.toString());
        }
    }
}
