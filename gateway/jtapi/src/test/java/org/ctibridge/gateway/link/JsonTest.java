package org.ctibridge.gateway.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void parsesTheBodiesOfTheProtocol() throws Exception {
        Object v = Json.parse(" {\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"x\\u00e9\\n\"},\"e\":-2.5} ");
        assertEquals(Map.of("a", 1L, "b", java.util.Arrays.asList(true, false, null), "c", Map.of("d", "xé\n"),
                "e", -2.5), v);
    }

    @Test
    void keepsTheLastOfDuplicateKeys() throws Exception {
        assertEquals(Map.of("a", 2L), Json.parse("{\"a\":1,\"a\":2}"));
    }

    @Test
    void refusesWhatIsNotJson() {
        for (String bad : List.of("", "{", "{\"a\"}", "{\"a\":1,}", "[1 2]", "01", "1.", "\"\\x\"", "tru", "{} x",
                "\"\u0001\"", "-", "1e")) {
            assertThrows(Json.ParseException.class, () -> Json.parse(bad), bad);
        }
    }

    @Test
    void boundsNesting() {
        String deep = "[".repeat(Json.MAX_DEPTH + 2) + "]".repeat(Json.MAX_DEPTH + 2);
        assertThrows(Json.ParseException.class, () -> Json.parse(deep));
    }

    @Test
    void numbersOutOfInt64AreNotIntegers() throws Exception {
        assertEquals(Double.class, Json.parse("99999999999999999999").getClass());
    }

    @Test
    void encodesEscapingControlCharacters() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("k", "a\"b\\c\n\u0001");
        m.put("n", List.of(1L, true));
        assertEquals("{\"k\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":[1,true]}", Json.encode(m));
    }
}
