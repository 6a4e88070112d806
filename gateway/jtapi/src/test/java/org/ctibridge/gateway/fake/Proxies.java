package org.ctibridge.gateway.fake;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * java.lang.reflect.Proxy objects implementing JTAPI and Cisco interfaces: each answers
 * the methods it was given and throws for any other, so a gateway call the double does
 * not script fails loudly instead of returning a silent default.
 */
final class Proxies {
    private Proxies() {}

    /** Method name → implementation (arguments → result). */
    static final class Methods {
        final Map<String, Function<Object[], Object>> m = new HashMap<>();

        Methods on(String name, Function<Object[], Object> f) {
            m.put(name, f);
            return this;
        }

        Methods val(String name, Object v) {
            m.put(name, a -> v);
            return this;
        }
    }

    static Object make(String label, Methods methods, Class<?>... ifaces) {
        InvocationHandler h = (proxy, method, args) -> {
            String n = method.getName();
            if (method.getDeclaringClass() == Object.class) {
                switch (n) {
                    case "equals": return proxy == args[0];
                    case "hashCode": return System.identityHashCode(proxy);
                    case "toString": return label;
                    default: break;
                }
            }
            Function<Object[], Object> f = methods.m.get(n);
            if (f == null) {
                if (n.equals("toString")) {
                    return label;
                }
                throw new UnsupportedOperationException("JTAPI double: " + label + "." + n + " is not scripted");
            }
            return f.apply(args == null ? new Object[0] : args);
        };
        return Proxy.newProxyInstance(Proxies.class.getClassLoader(), ifaces, h);
    }

    /** The JTAPI event id of an event interface (its static ID field), or 0. */
    static int eventId(Class<?> iface) {
        try {
            Field f = iface.getField("ID");
            return f.getInt(null);
        } catch (ReflectiveOperationException e) {
            return 0;
        }
    }

    /** Whether m is declared by one of the interfaces (for tests of the double itself). */
    static boolean declares(Class<?> iface, String name) {
        for (Method m : iface.getMethods()) {
            if (m.getName().equals(name)) {
                return true;
            }
        }
        return false;
    }
}
