package org.ctibridge.gateway;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.ctibridge.gateway.jtapi.CiscoOpener;

/**
 * {@code java -cp ctibridge-jtapi-gateway.jar:jtapi.jar org.ctibridge.gateway.Main
 * [--config gateway.properties] [key=value ...]}: runs one gateway for one CTIManager
 * until SIGTERM/SIGINT. docs/gateway.md explains the deployment.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        Path file = null;
        Map<String, String> overrides = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--config") && i + 1 < args.length) {
                file = Path.of(args[++i]);
            } else if (a.equals("--help") || a.equals("-h")) {
                usage();
                return;
            } else if (a.contains("=")) {
                String[] kv = a.split("=", 2);
                overrides.put(kv[0].startsWith("--") ? kv[0].substring(2) : kv[0], kv[1]);
            } else {
                System.err.println("gateway: unexpected argument " + a);
                usage();
                System.exit(2);
            }
        }
        if (CiscoOpener.jtapiVersion().isEmpty()) {
            System.err.println("gateway: Cisco's JTAPI jar is not on the class path: run with "
                    + "-cp ctibridge-jtapi-gateway.jar:/path/to/jtapi.jar (your cluster's jar, from "
                    + "Application > Plugins; in the container, mount the directory holding it at /opt/jtapi)");
            System.exit(2);
        }
        GatewayConfig cfg;
        try {
            cfg = GatewayConfig.load(file, System.getenv(), overrides, CiscoOpener.jtapiVersion());
        } catch (GatewayConfig.ConfigException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        Log log = new Log(System.err, cfg.logLevel, "");
        Gateway gw = new Gateway(cfg, new CiscoOpener(cfg, log), log);
        gw.start();
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("shutting down: closing every bridge session");
            gw.close();
            done.countDown();
        }, "gw-shutdown"));
        done.await();
    }

    private static void usage() {
        StringBuilder b = new StringBuilder("usage: gateway [--config file.properties] [key=value ...]\n\nkeys "
                + "(environment variable in brackets):\n");
        GatewayConfig.KEYS.forEach((k, d) -> b.append(String.format("  %-40s %s [%s]%s%n", k, d[1],
                GatewayConfig.envName(k), d[0].isEmpty() ? "" : " default " + d[0])));
        System.out.print(b);
    }
}
