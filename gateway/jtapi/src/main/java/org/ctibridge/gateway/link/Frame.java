package org.ctibridge.gateway.link;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * One received frame: header fields and the body as text (docs/protocol.md §3). Reading
 * checks the header in the order of §3 — magic, version, flags, length — before it
 * allocates anything for the body, so a header claiming 4 GiB costs nothing.
 */
public final class Frame {
    public final int type;
    public final long seq;
    public final String body;

    Frame(int type, long seq, String body) {
        this.type = type;
        this.seq = seq;
        this.body = body;
    }

    /**
     * Reads the next frame. Returns null at a clean end of stream (between frames).
     *
     * @throws LinkException (fatal) for a bad header
     * @throws EOFException when the stream ends inside a frame
     */
    public static Frame read(DataInputStream in, int maxBody) throws IOException, LinkException {
        byte[] h = new byte[Link.HEADER_SIZE];
        int n = in.read(h, 0, 1);
        if (n < 0) {
            return null;
        }
        in.readFully(h, 1, Link.HEADER_SIZE - 1);
        ByteBuffer b = ByteBuffer.wrap(h);
        int magic = b.getInt();
        int version = b.get() & 0xff;
        int flags = b.get() & 0xff;
        int type = b.getShort() & 0xffff;
        long length = b.getInt() & 0xffffffffL;
        long seq = b.getInt() & 0xffffffffL;
        if (magic != Link.MAGIC) {
            throw new LinkException(Link.ERR_BAD_MAGIC, true, 0,
                    String.format("ctilink: bad magic 0x%08X (not a CTI link stream; TLS on the plain port?)", magic));
        }
        if (version != Link.HEADER_VERSION) {
            throw new LinkException(Link.ERR_VERSION, true, seq, "ctilink: unsupported protocol version " + version);
        }
        if (flags != 0) {
            throw new LinkException(Link.ERR_UNEXPECTED, true, seq, "ctilink: reserved header flags set: " + flags);
        }
        if (length > maxBody) {
            throw new LinkException(Link.ERR_FRAME_TOO_LARGE, true, seq,
                    "ctilink: frame exceeds maximum size: body " + length + " bytes, limit " + maxBody);
        }
        byte[] body = new byte[(int) length];
        in.readFully(body);
        // Invalid UTF-8 becomes U+FFFD, as the reference decoder does (§4.1).
        return new Frame(type, seq, new String(body, StandardCharsets.UTF_8));
    }

    /** Encodes a frame: header then body. */
    public static byte[] encode(int type, long seq, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(Link.HEADER_SIZE + body.length);
        b.putInt(Link.MAGIC);
        b.put((byte) Link.HEADER_VERSION);
        b.put((byte) 0);
        b.putShort((short) type);
        b.putInt(body.length);
        b.putInt((int) seq);
        b.put(body);
        return b.array();
    }
}
