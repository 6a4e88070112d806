package org.ctibridge.gateway;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import org.ctibridge.gateway.link.Frame;
import org.ctibridge.gateway.link.Link;
import org.ctibridge.gateway.link.LinkException;

/**
 * Fuzzes the gateway's decoder of what bridges send (Frame.read, then LinkSession.decode)
 * with the protocol's checked-in seed corpus (pkg/ctilink/testdata/fuzz/FuzzDecoder, the
 * corpus of the Go decoder) and deterministic mutations of it: bad input must end in a
 * LinkException or the end of the stream, never another exception, and no frame over
 * the limit is ever read.
 */
class FrameFuzzTest {
    static Path corpus() {
        Path root = Path.of(System.getProperty("ctibridge.root", "../.."));
        for (Path p : List.of(root, Path.of("../../../.."), Path.of("../../../../.."))) {
            Path c = p.resolve("pkg/ctilink/testdata/fuzz/FuzzDecoder");
            if (Files.isDirectory(c)) {
                return c;
            }
        }
        fail("pkg/ctilink/testdata/fuzz/FuzzDecoder not found (set -Dctibridge.root)");
        return null;
    }

    /** The byte slices of a Go fuzz corpus file ("go test fuzz v1", []byte("…") lines). */
    static List<byte[]> seeds(Path file) throws IOException {
        List<byte[]> out = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            line = line.trim();
            if (line.startsWith("[]byte(\"") && line.endsWith("\")")) {
                out.add(unquote(line.substring(8, line.length() - 2)));
            }
        }
        return out;
    }

    /** Go's strconv.Quote escapes, back to bytes. */
    static byte[] unquote(String s) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\') {
                b.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
                continue;
            }
            char e = s.charAt(++i);
            switch (e) {
                case 'a' -> b.write(7);
                case 'b' -> b.write(8);
                case 'f' -> b.write(12);
                case 'n' -> b.write(10);
                case 'r' -> b.write(13);
                case 't' -> b.write(9);
                case 'v' -> b.write(11);
                case 'x' -> {
                    b.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
                    i += 2;
                }
                case 'u' -> {
                    b.writeBytes(new String(Character.toChars(Integer.parseInt(s.substring(i + 1, i + 5), 16)))
                            .getBytes(StandardCharsets.UTF_8));
                    i += 4;
                }
                case 'U' -> {
                    b.writeBytes(new String(Character.toChars(Integer.parseInt(s.substring(i + 1, i + 9), 16)))
                            .getBytes(StandardCharsets.UTF_8));
                    i += 8;
                }
                default -> b.write(e); // \\ \" \'
            }
        }
        return b.toByteArray();
    }

    /** Reads frames until the stream ends or a fatal error, decoding each. Returns frames read. */
    static int decodeStream(byte[] stream) {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(stream));
        int n = 0;
        while (true) {
            Frame f;
            try {
                f = Frame.read(in, Link.DEFAULT_MAX_FRAME);
            } catch (LinkException e) {
                assertTrue(e.fatal, "header errors are fatal: " + e.getMessage());
                return n;
            } catch (EOFException e) {
                return n;
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            if (f == null) {
                return n;
            }
            n++;
            assertTrue(f.body.length() <= Link.DEFAULT_MAX_FRAME, "body over the limit was read");
            try {
                LinkSession.decode(f);
            } catch (LinkException e) {
                assertTrue(!e.fatal && e.getMessage().startsWith("ctilink: "), e.getMessage());
            }
        }
    }

    @Test
    void seedCorpusAndMutations() throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        try (Stream<Path> files = Files.list(corpus())) {
            for (Path p : files.sorted().toList()) {
                seeds.addAll(seeds(p));
            }
        }
        assertTrue(seeds.size() >= 20, "seed corpus too small: " + seeds.size());
        Random r = new Random(1);
        int decoded = 0;
        for (byte[] seed : seeds) {
            decoded += decodeStream(seed);
            for (int m = 0; m < 200; m++) {
                byte[] x = seed.clone();
                if (x.length == 0) {
                    continue;
                }
                int edits = 1 + r.nextInt(4);
                for (int e = 0; e < edits; e++) {
                    int at = r.nextInt(x.length);
                    switch (r.nextInt(3)) {
                        case 0 -> x[at] = (byte) r.nextInt(256);
                        case 1 -> x[at] ^= (byte) (1 << r.nextInt(8));
                        default -> x = java.util.Arrays.copyOf(x, Math.max(1, at));
                    }
                }
                decodeStream(x);
            }
        }
        assertTrue(decoded > 0, "no seed decoded into a frame");
    }
}
