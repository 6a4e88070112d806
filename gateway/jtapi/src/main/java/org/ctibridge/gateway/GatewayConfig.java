package org.ctibridge.gateway;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

import org.ctibridge.gateway.jtapi.ProviderSession;
import org.ctibridge.gateway.link.Requests;

/**
 * The gateway's configuration: a Java properties file whose keys can each be overridden
 * by an environment variable (key {@code cti.manager} ↔ {@code CTIBRIDGE_GW_CTI_MANAGER}).
 * docs/gateway.md §Configuration lists every key; {@link #KEYS} is that list.
 */
public final class GatewayConfig {
    /** Every key, its default ("" = none) and what it is, in documentation order. */
    public static final Map<String, String[]> KEYS = new LinkedHashMap<>();

    private static void key(String k, String def, String doc) {
        KEYS.put(k, new String[] {def, doc});
    }

    static {
        key("cti.manager", "", "CTIManager host (name or IP) this gateway opens providers on; required");
        key("name", "", "name reported to the bridge as the CTIManager (ProviderOpenResponse.ctiManager); default: cti.manager");
        key("listen", "0.0.0.0:2748", "link protocol address, plain TCP; empty to disable");
        key("tls.listen", "", "link protocol address, TLS 1.3 with client certificates; empty to disable");
        key("tls.cert", "", "PEM certificate chain the gateway presents on tls.listen");
        key("tls.key", "", "PEM private key of tls.cert (PKCS#8, or SEC1 EC)");
        key("tls.clientCA", "", "PEM CA certificates that sign the bridges' client certificates");
        key("heartbeat.default", "30000", "server heartbeat (ms) when the bridge has no preference");
        key("heartbeat.min", "1000", "smallest heartbeat interval (ms) granted");
        key("heartbeat.max", "60000", "largest heartbeat interval (ms) granted");
        key("jtapi.providerOpenRequestTimeout", "200", "seconds to wait for the provider (getProvider and ProvInServiceEv); JTAPI's ProviderOpenRequestTimeout");
        key("jtapi.ctiRequestTimeout", "15", "seconds JTAPI waits for any CTI reply (CtiRequestTimeout)");
        key("jtapi.desiredServerHeartbeatInterval", "30", "seconds; JTAPI's heartbeat proposal to CTIManager");
        key("jtapi.routeSelectTimeout", "5000", "ms CTIManager waits for a route selection (RouteSelectTimeout)");
        key("jtapi.socketConnectTimeout", "15", "seconds for the TCP connect to CTIManager (JavaSocketConnectTimeout)");
        key("jtapi.traceDirectory", "", "directory for Cisco JTAPI trace files; empty: JTAPI traces off");
        key("jtapi.security.enabled", "false", "open providers over TLS to CTIManager (port 2749) with a CAPF certificate");
        key("jtapi.security.instanceId", "", "CAPF instance id when the bridge connects on the plain port (on TLS: its certificate's name)");
        key("jtapi.security.authCode", "", "CAPF authorization string (one-time, for the first certificate download)");
        key("jtapi.security.tftpServer", "", "TFTP server with the cluster's CTL file");
        key("jtapi.security.tftpPort", "69", "TFTP port");
        key("jtapi.security.capfServer", "", "CAPF server (the publisher)");
        key("jtapi.security.capfPort", "3804", "CAPF port");
        key("jtapi.security.certPath", "", "directory where JTAPI keeps the CTL and the client certificate");
        key("callManagers", "", "JTAPI CallManager ids to node names, e.g. 1=cucm-pub,2=cucm-sub1");
        key("ctiPort.autoAnswer", "true", "answer calls to CTI ports registered through the gateway (the link expects CTIManager to)");
        key("log.level", "info", "debug, info, warn or error");
    }

    public final String ctiManagerHost;
    public final String name;
    public final String listen;
    public final String tlsListen;
    public final String tlsCert;
    public final String tlsKey;
    public final String tlsClientCA;
    public final long heartbeatDefaultMs;
    public final long heartbeatMinMs;
    public final long heartbeatMaxMs;
    public final long openTimeoutMs;
    public final int ctiRequestTimeoutS;
    public final int desiredServerHeartbeatS;
    public final int routeSelectTimeoutMs;
    public final int socketConnectTimeoutS;
    public final String traceDirectory;
    public final boolean securityEnabled;
    public final String securityInstanceId;
    public final String securityAuthCode;
    public final String securityTftpServer;
    public final String securityTftpPort;
    public final String securityCapfServer;
    public final String securityCapfPort;
    public final String securityCertPath;
    public final Map<Integer, String> callManagerNames;
    public final boolean ctiPortAutoAnswer;
    public final Log.Level logLevel;
    private final String jtapiVersion;

    private GatewayConfig(Map<String, String> v, String jtapiVersion) throws ConfigException {
        List<String> errs = new ArrayList<>();
        ctiManagerHost = v.get("cti.manager").trim();
        name = v.get("name").isEmpty() ? ctiManagerHost : v.get("name");
        listen = v.get("listen");
        tlsListen = v.get("tls.listen");
        tlsCert = v.get("tls.cert");
        tlsKey = v.get("tls.key");
        tlsClientCA = v.get("tls.clientCA");
        heartbeatDefaultMs = num(v, "heartbeat.default", errs);
        heartbeatMinMs = num(v, "heartbeat.min", errs);
        heartbeatMaxMs = num(v, "heartbeat.max", errs);
        openTimeoutMs = num(v, "jtapi.providerOpenRequestTimeout", errs) * 1000;
        ctiRequestTimeoutS = (int) num(v, "jtapi.ctiRequestTimeout", errs);
        desiredServerHeartbeatS = (int) num(v, "jtapi.desiredServerHeartbeatInterval", errs);
        routeSelectTimeoutMs = (int) num(v, "jtapi.routeSelectTimeout", errs);
        socketConnectTimeoutS = (int) num(v, "jtapi.socketConnectTimeout", errs);
        traceDirectory = v.get("jtapi.traceDirectory");
        securityEnabled = bool(v, "jtapi.security.enabled", errs);
        securityInstanceId = v.get("jtapi.security.instanceId");
        securityAuthCode = v.get("jtapi.security.authCode");
        securityTftpServer = v.get("jtapi.security.tftpServer");
        securityTftpPort = v.get("jtapi.security.tftpPort");
        securityCapfServer = v.get("jtapi.security.capfServer");
        securityCapfPort = v.get("jtapi.security.capfPort");
        securityCertPath = v.get("jtapi.security.certPath");
        callManagerNames = callManagers(v.get("callManagers"), errs);
        ctiPortAutoAnswer = bool(v, "ctiPort.autoAnswer", errs);
        Log.Level lvl = Log.Level.INFO;
        try {
            lvl = Log.Level.valueOf(v.get("log.level").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            errs.add("log.level " + v.get("log.level") + ": want debug, info, warn or error");
        }
        logLevel = lvl;
        this.jtapiVersion = jtapiVersion;
        validate(errs);
        if (!errs.isEmpty()) {
            throw new ConfigException(errs);
        }
    }

    private void validate(List<String> errs) {
        if (ctiManagerHost.isEmpty()) {
            errs.add("cti.manager is required: the CTIManager this gateway serves (one gateway per CTIManager)");
        } else if (ctiManagerHost.contains(";") || ctiManagerHost.contains(",") || ctiManagerHost.contains("=")) {
            errs.add("cti.manager names one CTIManager (no ';', ',' or '='): run one gateway per CTIManager");
        }
        String ne = Requests.nameError("name", name, false);
        if (ne != null) {
            errs.add(ne);
        }
        if (listen.isEmpty() && tlsListen.isEmpty()) {
            errs.add("listen and tls.listen are both empty: the gateway would serve nothing");
        }
        if (!tlsListen.isEmpty() && (tlsCert.isEmpty() || tlsKey.isEmpty() || tlsClientCA.isEmpty())) {
            errs.add("tls.listen needs tls.cert, tls.key and tls.clientCA");
        }
        if (heartbeatMinMs <= 0 || heartbeatMaxMs < heartbeatMinMs || heartbeatDefaultMs < heartbeatMinMs
                || heartbeatDefaultMs > heartbeatMaxMs) {
            errs.add("heartbeat: want 0 < heartbeat.min <= heartbeat.default <= heartbeat.max (ms)");
        }
        if (openTimeoutMs < 1000) {
            errs.add("jtapi.providerOpenRequestTimeout must be at least 1 second (JTAPI's minimum is 10)");
        }
        if (securityEnabled && (securityTftpServer.isEmpty() || securityCapfServer.isEmpty()
                || securityCertPath.isEmpty())) {
            errs.add("jtapi.security.enabled needs jtapi.security.tftpServer, capfServer and certPath");
        }
    }

    private static long num(Map<String, String> v, String k, List<String> errs) {
        try {
            return Long.parseLong(v.get(k).trim());
        } catch (NumberFormatException e) {
            errs.add(k + " " + v.get(k) + ": want a whole number");
            return 0;
        }
    }

    private static boolean bool(Map<String, String> v, String k, List<String> errs) {
        String s = v.get(k).trim().toLowerCase(Locale.ROOT);
        if (!s.equals("true") && !s.equals("false")) {
            errs.add(k + " " + v.get(k) + ": want true or false");
        }
        return s.equals("true");
    }

    private static Map<Integer, String> callManagers(String s, List<String> errs) {
        Map<Integer, String> m = new TreeMap<>();
        if (s.isBlank()) {
            return m;
        }
        for (String part : s.split(",")) {
            String[] kv = part.trim().split("=", 2);
            try {
                if (kv.length != 2 || kv[1].isBlank()) {
                    throw new NumberFormatException();
                }
                m.put(Integer.parseInt(kv[0].trim()), kv[1].trim());
            } catch (NumberFormatException e) {
                errs.add("callManagers entry " + part + ": want <id>=<name>");
            }
        }
        return m;
    }

    /** Thrown by {@link #load} with every problem found. */
    public static final class ConfigException extends Exception {
        private static final long serialVersionUID = 1L;

        ConfigException(List<String> errs) {
            super("gateway: invalid configuration: " + String.join("; ", errs));
        }
    }

    /** The environment variable that overrides key. */
    public static String envName(String key) {
        return "CTIBRIDGE_GW_" + key.replaceAll("([a-z])([A-Z])", "$1_$2").replace('.', '_').toUpperCase(Locale.ROOT);
    }

    /**
     * Builds the configuration from defaults, then the properties file (null: none), then
     * the environment, then overrides (tests, command line).
     */
    public static GatewayConfig load(Path file, Map<String, String> env, Map<String, String> overrides,
            String jtapiVersion) throws IOException, ConfigException {
        Map<String, String> v = new LinkedHashMap<>();
        KEYS.forEach((k, d) -> v.put(k, d[0]));
        List<String> unknown = new ArrayList<>();
        if (file != null) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                p.load(r);
            }
            for (String k : p.stringPropertyNames()) {
                if (!KEYS.containsKey(k)) {
                    unknown.add(k);
                }
                v.put(k, p.getProperty(k));
            }
        }
        for (String k : KEYS.keySet()) {
            String e = env.get(envName(k));
            if (e != null) {
                v.put(k, e);
            }
        }
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            if (!KEYS.containsKey(e.getKey())) {
                unknown.add(e.getKey());
            }
            v.put(e.getKey(), e.getValue());
        }
        if (!unknown.isEmpty()) {
            throw new ConfigException(List.of("unknown keys " + unknown + " (docs/gateway.md lists the keys)"));
        }
        return new GatewayConfig(v, jtapiVersion);
    }

    String serverInfo() {
        return "ctibridge JTAPI gateway" + (jtapiVersion.isEmpty() ? "" : "; Cisco JTAPI " + jtapiVersion);
    }

    /** Settings of each bridge session's provider. */
    public ProviderSession.Settings sessionSettings() {
        return new ProviderSession.Settings(ctiManagerHost, callManagerNames, openTimeoutMs, ctiPortAutoAnswer,
                () -> System.currentTimeMillis() * 1_000_000L);
    }
}
