package org.ctibridge.gateway;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** docs/gateway.md documents every configuration key the gateway knows, with its default. */
class DocsTest {
    @Test
    void everyKeyIsDocumented() throws Exception {
        Path root = FrameFuzzTest.corpus().getParent().getParent().getParent().getParent().getParent();
        String doc = Files.readString(root.resolve("docs/gateway.md"));
        int start = doc.indexOf("## 4. Configuration");
        int end = doc.indexOf("## 5.");
        String section = doc.substring(start, end);
        GatewayConfig.KEYS.forEach((k, d) -> {
            String last = k.substring(k.lastIndexOf('.') + 1);
            assertTrue(section.contains("`" + k + "`") || section.contains("`" + last + "`"),
                    "docs/gateway.md §4 has no row for " + k);
            for (String def : d[0].split(",")) {
                if (!def.isEmpty()) {
                    assertTrue(section.contains(def), "docs/gateway.md §4 does not show " + k + "'s default " + def);
                }
            }
        });
    }
}
