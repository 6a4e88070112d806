package org.ctibridge.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayConfigTest {
    @Test
    void environmentOverridesTheFileAndNamesFollowTheKeys(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("gw.properties");
        Files.writeString(f, "cti.manager=cucm-sub1\ncallManagers=1=cucm-pub,2=cucm-sub1\n");
        GatewayConfig c = GatewayConfig.load(f, Map.of("CTIBRIDGE_GW_HEARTBEAT_DEFAULT", "20000",
                "CTIBRIDGE_GW_CTI_PORT_AUTO_ANSWER", "false"), Map.of(), "");
        assertEquals("cucm-sub1", c.ctiManagerHost);
        assertEquals("cucm-sub1", c.name);
        assertEquals(20000, c.heartbeatDefaultMs);
        assertEquals(false, c.ctiPortAutoAnswer);
        assertEquals(Map.of(1, "cucm-pub", 2, "cucm-sub1"), c.callManagerNames);
        assertEquals("CTIBRIDGE_GW_JTAPI_PROVIDER_OPEN_REQUEST_TIMEOUT",
                GatewayConfig.envName("jtapi.providerOpenRequestTimeout"));
    }

    @Test
    void refusesAConfigurationThatCannotWorkNamingEveryProblem() {
        GatewayConfig.ConfigException e = assertThrows(GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(null, Map.of(), Map.of("cti.manager", "a,b", "tls.listen", ":2749",
                        "heartbeat.min", "x", "jtapi.security.enabled", "true"), ""));
        String m = e.getMessage();
        assertTrue(m.contains("one gateway per CTIManager"), m);
        assertTrue(m.contains("tls.listen needs"), m);
        assertTrue(m.contains("heartbeat.min"), m);
        assertTrue(m.contains("jtapi.security.enabled needs"), m);
    }

    @Test
    void refusesUnknownKeys() {
        GatewayConfig.ConfigException e = assertThrows(GatewayConfig.ConfigException.class,
                () -> GatewayConfig.load(null, Map.of(), Map.of("cti.manager", "x", "ctimanager", "y"), ""));
        assertTrue(e.getMessage().contains("unknown keys [ctimanager]"), e.getMessage());
    }
}
