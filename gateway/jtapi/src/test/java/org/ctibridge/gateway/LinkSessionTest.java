package org.ctibridge.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import org.ctibridge.gateway.fake.FakeCluster;
import org.ctibridge.gateway.link.Frame;
import org.ctibridge.gateway.link.Json;
import org.ctibridge.gateway.link.Link;

/** The gateway as a link-protocol server (docs/protocol.md §3–§11), over real sockets. */
class LinkSessionTest {
    private FakeCluster cluster;
    private Gateway gw;
    private Socket sock;
    private DataInputStream in;
    private OutputStream out;
    private long seq;

    private void start(int phones) throws Exception {
        List<FakeCluster.DeviceSpec> ds = new ArrayList<>();
        for (int i = 1; i <= phones; i++) {
            ds.add(new FakeCluster.DeviceSpec(String.format("SEP%012d", i), "phone", "cm1",
                    List.of(String.valueOf(10000 + i))));
        }
        cluster = new FakeCluster(ds, Map.of("ctibridge", "secret"), Map.of("cm1", 1));
        GatewayConfig cfg = GatewayConfig.load(null, Map.of(), Map.of("cti.manager", "ctim-a", "listen",
                "127.0.0.1:0", "heartbeat.min", "1000", "heartbeat.default", "30000"), "");
        gw = new Gateway(cfg, cluster.opener(), Log.discard());
        gw.start();
        sock = new Socket("127.0.0.1", gw.port());
        sock.setSoTimeout(30_000);
        in = new DataInputStream(sock.getInputStream());
        out = sock.getOutputStream();
    }

    @AfterEach
    void stop() throws IOException {
        if (sock != null) {
            sock.close();
        }
        if (gw != null) {
            gw.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private long send(int type, String body) throws IOException {
        seq++;
        out.write(Frame.encode(type, seq, body.getBytes(StandardCharsets.UTF_8)));
        out.flush();
        return seq;
    }

    /** The next frame that is not a Heartbeat, as {type, body}. */
    @SuppressWarnings("unchecked")
    private Object[] next() throws Exception {
        while (true) {
            Frame f = Frame.read(in, Link.HARD_MAX_FRAME);
            if (f == null) {
                return null;
            }
            if (f.type != Link.HEARTBEAT) {
                return new Object[] {f.type, (Map<String, Object>) Json.parse(f.body)};
            }
        }
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> expect(int type) throws Exception {
        Object[] f = next();
        assertTrue(f != null, "connection closed, expected " + Link.typeName(type));
        assertEquals(Link.typeName(type), Link.typeName((Integer) f[0]), String.valueOf(f[1]));
        return (Map<String, Object>) f[1];
    }

    private static final String OPEN = "{\"login\":\"ctibridge\",\"password\":\"secret\",\"appInfo\":\"test\","
            + "\"desiredServerHeartbeatMs\":100,\"clientVersion\":\"t\",\"protocolVersions\":[1]}";

    @Test
    void twoPhaseOpenThenPagedDeviceList() throws Exception {
        start(1200);
        long req = send(Link.PROVIDER_OPEN_REQUEST, OPEN);
        Map<String, Object> r = expect(Link.PROVIDER_OPEN_RESPONSE);
        assertEquals(req, r.get("reqSeq"));
        assertEquals(0L, r.get("result"));
        assertEquals(1L, r.get("protocolVersion"));
        assertEquals(1000L, r.get("serverHeartbeatMs"), "clamped to heartbeat.min");
        assertEquals("ctim-a", r.get("ctiManager"));
        Map<String, Object> c = expect(Link.PROVIDER_OPEN_COMPLETED);
        assertEquals(0L, c.get("reason"));
        assertEquals(1200L, c.get("totalControllableDevices"));
        assertEquals(r.get("providerId"), c.get("providerId"));
        long dl = send(Link.DEVICE_LIST_REQUEST, "{}");
        int total = 0;
        List<Boolean> more = new ArrayList<>();
        for (;;) {
            Map<String, Object> p = expect(Link.DEVICE_LIST_RESPONSE);
            assertEquals(dl, p.get("reqSeq"));
            int n = ((List<?>) p.get("devices")).size();
            assertTrue(n <= Link.MAX_DEVICES_PER_PAGE, "page of " + n);
            total += n;
            more.add((Boolean) p.get("more"));
            if (!(Boolean) p.get("more")) {
                break;
            }
        }
        assertEquals(1200, total);
        assertEquals(List.of(true, true, false), more);
        long open = send(Link.LINE_OPEN_REQUEST, "{\"device\":\"SEP000000000001\",\"line\":\"10001\"}");
        Map<String, Object> resp = expect(Link.RESPONSE);
        assertEquals(open, resp.get("reqSeq"));
        assertEquals(0L, resp.get("result"));
        send(Link.LINE_OPEN_REQUEST, "{\"device\":\"SEP000000000001\",\"line\":\"999\"}");
        assertEquals((long) Link.RESULT_UNKNOWN_DEVICE, expect(Link.RESPONSE).get("result"));
        send(Link.PROVIDER_CLOSE_REQUEST, "{\"reason\":3}");
        assertEquals(3L, expect(Link.PROVIDER_CLOSED).get("reason"));
        assertNull(next(), "the gateway closes after ProviderClosed");
    }

    @Test
    void loginRefusedIsAnOpenFailureWithTheReason() throws Exception {
        start(1);
        send(Link.PROVIDER_OPEN_REQUEST, OPEN.replace("secret", "wrong"));
        expect(Link.PROVIDER_OPEN_RESPONSE);
        Map<String, Object> c = expect(Link.PROVIDER_OPEN_COMPLETED);
        assertEquals((long) Link.CLOSE_LOGINFAILED, c.get("reason"));
        assertTrue(((String) c.get("failureDescription")).contains("Login failed"), c.toString());
        assertEquals((long) Link.CLOSE_LOGINFAILED, expect(Link.PROVIDER_CLOSED).get("reason"));
        assertNull(next());
    }

    @Test
    void ctiManagerDownIsAnOpenFailureTheBridgeRetriesElsewhere() throws Exception {
        start(1);
        cluster.failCtiManager("ctim-a");
        send(Link.PROVIDER_OPEN_REQUEST, OPEN);
        expect(Link.PROVIDER_OPEN_RESPONSE);
        Map<String, Object> c = expect(Link.PROVIDER_OPEN_COMPLETED);
        assertEquals((long) Link.CLOSE_PROVIDEROPENFAILURE, c.get("reason"));
        assertTrue(((String) c.get("failureDescription")).contains("Connection refused"), c.toString());
        expect(Link.PROVIDER_CLOSED);
    }

    @Test
    void noCommonProtocolVersion() throws Exception {
        start(1);
        send(Link.PROVIDER_OPEN_REQUEST, OPEN.replace("[1]", "[7,8]"));
        Map<String, Object> r = expect(Link.PROVIDER_OPEN_RESPONSE);
        assertEquals((long) Link.RESULT_INVALID_REQUEST, r.get("result"));
        assertEquals(0L, r.get("protocolVersion"));
        assertEquals((long) Link.CLOSE_INCOMPATIBLEPROTOCOL, expect(Link.PROVIDER_OPEN_COMPLETED).get("reason"));
        assertEquals((long) Link.CLOSE_INCOMPATIBLEPROTOCOL, expect(Link.PROVIDER_CLOSED).get("reason"));
    }

    @Test
    void perFrameErrorsKeepTheSession() throws Exception {
        start(1);
        long early = send(Link.DEVICE_LIST_REQUEST, "{}");
        Map<String, Object> e = expect(Link.ERROR);
        assertEquals((long) Link.ERR_NOT_OPEN, e.get("code"));
        assertEquals(early, e.get("reqSeq"));
        send(Link.PROVIDER_OPEN_REQUEST, OPEN);
        expect(Link.PROVIDER_OPEN_RESPONSE);
        expect(Link.PROVIDER_OPEN_COMPLETED);
        long unknown = send(0x42, "{}");
        e = expect(Link.ERROR);
        assertEquals((long) Link.ERR_UNKNOWN_TYPE, e.get("code"));
        assertEquals(unknown, e.get("reqSeq"));
        send(Link.DEVICE_OPEN_REQUEST, "{\"device\":12}");
        assertEquals((long) Link.ERR_MALFORMED, expect(Link.ERROR).get("code"));
        send(Link.DEVICE_OPEN_REQUEST, "not json");
        assertEquals((long) Link.ERR_MALFORMED, expect(Link.ERROR).get("code"));
        send(Link.LINE_OPEN_REQUEST, "{\"device\":\"\"}");
        e = expect(Link.ERROR);
        assertEquals((long) Link.ERR_INVALID_MESSAGE, e.get("code"));
        assertEquals("ctilink: invalid message: LineOpenRequest: device is required; line is required", e.get("text"));
        send(Link.PROVIDER_OPEN_REQUEST, OPEN);
        assertEquals((long) Link.ERR_UNEXPECTED, expect(Link.ERROR).get("code"));
        send(Link.CALL_STATE, "{}");
        assertEquals((long) Link.ERR_UNEXPECTED, expect(Link.ERROR).get("code"));
        long ok = send(Link.DEVICE_OPEN_REQUEST, "{\"device\":\"SEP000000000001\"}");
        assertEquals(ok, expect(Link.RESPONSE).get("reqSeq"));
    }

    @Test
    void badMagicIsFatal() throws Exception {
        start(1);
        out.write("\u0016\u0003\u0001 not a CTI link stream".getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        Map<String, Object> e = expect(Link.ERROR);
        assertEquals((long) Link.ERR_BAD_MAGIC, e.get("code"));
        assertEquals(0L, e.get("reqSeq"));
        assertNull(next());
    }

    @Test
    void oversizedFrameIsRefusedBeforeReadingIt() throws Exception {
        start(1);
        ByteBuffer h = ByteBuffer.allocate(Link.HEADER_SIZE);
        h.putInt(Link.MAGIC).put((byte) 1).put((byte) 0).putShort((short) Link.HEARTBEAT).putInt(-1).putInt(1);
        out.write(h.array());
        out.flush();
        assertEquals((long) Link.ERR_FRAME_TOO_LARGE, expect(Link.ERROR).get("code"));
        assertNull(next());
    }

    @Test
    void sequenceGapClosesTheSession() throws Exception {
        start(1);
        send(Link.PROVIDER_OPEN_REQUEST, OPEN);
        expect(Link.PROVIDER_OPEN_RESPONSE);
        expect(Link.PROVIDER_OPEN_COMPLETED);
        seq += 5;
        send(Link.HEARTBEAT, "{}");
        assertNull(next(), "a sequence gap ends the session (§5)");
    }
}
