package org.ctibridge.gateway.fake;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ctibridge.gateway.Gateway;
import org.ctibridge.gateway.GatewayConfig;
import org.ctibridge.gateway.Log;
import org.ctibridge.gateway.link.Json;

/**
 * Runs gateways on the JTAPI double, for the Go end-to-end test
 * (internal/gatewaye2e): one gateway per CTIManager name, as in production, all on one
 * scripted cluster. Control is JSON lines: commands on stdin, one reply per command on
 * stdout; the first stdout line gives the gateways' addresses.
 *
 * <pre>
 * java -cp tests.jar:gateway.jar:jtapi.jar org.ctibridge.gateway.fake.DoubleMain \
 *     --cluster cluster.json --gateway ctim-a --gateway ctim-b [key=value ...]
 * </pre>
 *
 * cluster.json: {"devices":[{"name","type","callManager","lines":[…]}],
 * "users":{"login":"password"}, "callManagers":{"cm1":1}}. key=value pairs are gateway
 * configuration keys applied to every gateway (docs/gateway.md). Commands:
 * offhook{dn} → {call}; dial{call,from,to[,busy]}; dialMasked{call,from,to,masked}; answer{call,dn[,device]};
 * hold/unhold{call,dn[,device]} (device: a shared line's appearance);
 * hangup{call,dn}; transfer/conference/failedTransfer{primary,consult,controller};
 * failCtiManager/restoreCtiManager{host}; failCallManager{cm}; registered{device}; reroutes{call} (how many times
 * selectRoute found no usable destination); awaitEstablished{call,dn};
 * framesSent (frames the gateways wrote to bridges, to tell when a bridge caught up); drain; quit.
 */
public final class DoubleMain {
    private DoubleMain() {}

    @SuppressWarnings("unchecked")
    public static void main(String[] args) throws Exception {
        Path clusterFile = null;
        List<String> names = new ArrayList<>();
        Map<String, String> overrides = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--cluster" -> clusterFile = Path.of(args[++i]);
                case "--gateway" -> names.add(args[++i]);
                default -> {
                    String[] kv = args[i].split("=", 2);
                    if (kv.length != 2) {
                        throw new IllegalArgumentException("DoubleMain: unexpected argument " + args[i]);
                    }
                    overrides.put(kv[0], kv[1]);
                }
            }
        }
        Map<String, Object> spec = (Map<String, Object>) Json.parse(Files.readString(clusterFile));
        List<FakeCluster.DeviceSpec> devices = new ArrayList<>();
        for (Object o : (List<Object>) spec.get("devices")) {
            Map<String, Object> d = (Map<String, Object>) o;
            List<String> lines = new ArrayList<>();
            for (Object l : (List<Object>) d.get("lines")) {
                lines.add((String) l);
            }
            devices.add(new FakeCluster.DeviceSpec((String) d.get("name"), (String) d.get("type"),
                    (String) d.getOrDefault("callManager", ""), lines));
        }
        Map<String, String> users = new LinkedHashMap<>();
        ((Map<String, Object>) spec.get("users")).forEach((k, v) -> users.put(k, (String) v));
        Map<String, Integer> cms = new LinkedHashMap<>();
        ((Map<String, Object>) spec.getOrDefault("callManagers", Map.of()))
                .forEach((k, v) -> cms.put(k, ((Number) v).intValue()));
        FakeCluster cluster = new FakeCluster(devices, users, cms);

        Log log = new Log(System.err, Log.Level.valueOf(overrides.getOrDefault("log.level", "warn").toUpperCase()), "");
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        List<Gateway> gateways = new ArrayList<>();
        Map<String, Object> addrs = new LinkedHashMap<>();
        Map<String, Object> tlsAddrs = new LinkedHashMap<>();
        for (String n : names) {
            Map<String, String> o = new LinkedHashMap<>(overrides);
            o.put("cti.manager", n);
            o.put("name", n);
            o.putIfAbsent("listen", "127.0.0.1:0");
            // Per-gateway TLS certificate: tls.cert/tls.key may name {name} (e.g. server-{name}.pem).
            for (String k : new String[] {"tls.cert", "tls.key"}) {
                if (o.containsKey(k)) {
                    o.put(k, o.get(k).replace("{name}", n));
                }
            }
            GatewayConfig cfg = GatewayConfig.load(null, Map.of(), o, "double");
            Gateway g = new Gateway(cfg, cluster.opener(), log.with(n));
            g.start();
            gateways.add(g);
            if (g.port() > 0) {
                addrs.put(n, "127.0.0.1:" + g.port());
            }
            if (g.tlsPort() > 0) {
                tlsAddrs.put(n, "127.0.0.1:" + g.tlsPort());
            }
        }
        out.println(Json.encode(Map.of("ready", true, "gateways", addrs, "tls", tlsAddrs)));

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            Map<String, Object> reply = new LinkedHashMap<>();
            try {
                Map<String, Object> c = (Map<String, Object>) Json.parse(line);
                String op = (String) c.get("op");
                if ("quit".equals(op)) {
                    break;
                }
                if ("framesSent".equals(op)) {
                    long n = 0;
                    for (Gateway g : gateways) {
                        n += g.framesSent();
                    }
                    reply.put("frames", n);
                } else {
                    run(cluster, op, c, reply);
                }
                reply.put("ok", true);
            } catch (Exception e) {
                reply.put("ok", false);
                reply.put("error", e.toString());
            }
            out.println(Json.encode(reply));
        }
        for (Gateway g : gateways) {
            g.close();
        }
        cluster.close();
        System.exit(0);
    }

    private static int num(Map<String, Object> c, String k) {
        return ((Number) c.get(k)).intValue();
    }

    private static String str(Map<String, Object> c, String k) {
        return (String) c.get(k);
    }

    private static String opt(Map<String, Object> c, String k) {
        Object v = c.get(k);
        return v instanceof String s ? s : "";
    }

    private static void run(FakeCluster cl, String op, Map<String, Object> c, Map<String, Object> reply)
            throws Exception {
        switch (op) {
            case "offhook" -> reply.put("call", (long) cl.offhook(str(c, "dn")));
            case "dial" -> cl.dial(num(c, "call"), str(c, "from"), str(c, "to"), Boolean.TRUE.equals(c.get("busy")));
            case "dialMasked" -> cl.dialMasked(num(c, "call"), str(c, "from"), str(c, "to"), str(c, "masked"));
            case "answer" -> cl.answer(num(c, "call"), str(c, "dn"), opt(c, "device"));
            case "hold" -> cl.hold(num(c, "call"), str(c, "dn"), opt(c, "device"));
            case "unhold" -> cl.unhold(num(c, "call"), str(c, "dn"), opt(c, "device"));
            case "hangup" -> cl.hangup(num(c, "call"), str(c, "dn"));
            case "transfer" -> cl.transfer(num(c, "primary"), num(c, "consult"), str(c, "controller"));
            case "conference" -> cl.conference(num(c, "primary"), num(c, "consult"), str(c, "controller"));
            case "failedTransfer" -> cl.failedTransfer(num(c, "primary"), num(c, "consult"), str(c, "controller"));
            case "failCtiManager" -> cl.failCtiManager(str(c, "host"));
            case "failCallManager" -> cl.failCallManager(str(c, "cm"));
            case "restoreCtiManager" -> cl.restoreCtiManager(str(c, "host"));
            case "registered" -> reply.put("registered", cl.registered(str(c, "device")));
            case "reroutes" -> reply.put("reroutes", cl.reroutes(num(c, "call")));
            case "awaitEstablished" -> cl.awaitEstablished(num(c, "call"), str(c, "dn"));
            case "drain" -> cl.drain();
            default -> throw new IllegalArgumentException("unknown op " + op);
        }
    }
}
