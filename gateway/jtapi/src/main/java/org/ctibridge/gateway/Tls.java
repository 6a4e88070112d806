package org.ctibridge.gateway;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS for the link's secure port (docs/protocol.md §2): TLS 1.3 only, the gateway's
 * certificate from PEM files, client certificates required and checked against a PEM CA;
 * the client certificate's CommonName is the session's instanceId.
 */
public final class Tls {
    private Tls() {}

    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

    /** The SSLContext of the TLS listener. */
    public static SSLContext serverContext(Path cert, Path key, Path clientCA)
            throws IOException, GeneralSecurityException {
        List<Certificate> chain = certificates(cert);
        if (chain.isEmpty()) {
            throw new GeneralSecurityException("tls.cert " + cert + ": no certificate");
        }
        PrivateKey pk = privateKey(key);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        char[] pw = new char[0];
        ks.setKeyEntry("gateway", pk, pw, chain.toArray(new Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pw);
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        int i = 0;
        for (Certificate c : certificates(clientCA)) {
            ts.setCertificateEntry("ca" + i++, c);
        }
        if (i == 0) {
            throw new GeneralSecurityException("tls.clientCA " + clientCA + ": no certificate");
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    static List<Certificate> certificates(Path p) throws IOException, GeneralSecurityException {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<Certificate> out = new ArrayList<>();
        for (byte[] der : blocks(p, "CERTIFICATE")) {
            out.add(cf.generateCertificate(new ByteArrayInputStream(der)));
        }
        return out;
    }

    static PrivateKey privateKey(Path p) throws IOException, GeneralSecurityException {
        String text = Files.readString(p, StandardCharsets.US_ASCII);
        Matcher m = PEM.matcher(text);
        while (m.find()) {
            byte[] der = Base64.getMimeDecoder().decode(m.group(2));
            switch (m.group(1)) {
                case "PRIVATE KEY":
                    return pkcs8(der);
                case "EC PRIVATE KEY":
                    return pkcs8(ecToPkcs8(der));
                default:
                    break;
            }
        }
        throw new GeneralSecurityException("tls.key " + p + ": no PKCS#8 (PRIVATE KEY) or EC PRIVATE KEY block");
    }

    private static PrivateKey pkcs8(byte[] der) throws GeneralSecurityException {
        GeneralSecurityException last = null;
        for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new GeneralSecurityException("unsupported private key", last);
    }

    /**
     * Wraps a SEC1 EC key (RFC 5915, what Go's x509.MarshalECPrivateKey writes) into
     * PKCS#8 (RFC 5208), taking the curve from its parameters field.
     */
    static byte[] ecToPkcs8(byte[] sec1) throws GeneralSecurityException {
        byte[] curve = null;
        // SEC1: SEQUENCE { INTEGER 1, OCTET STRING key, [0] OID curve, [1] BIT STRING pub }
        for (int i = 0; i + 3 < sec1.length; i++) {
            if ((sec1[i] & 0xff) == 0xA0 && sec1[i + 2] == 0x06) {
                int len = sec1[i + 3] & 0xff;
                if (i + 4 + len <= sec1.length) {
                    curve = java.util.Arrays.copyOfRange(sec1, i + 2, i + 4 + len);
                    break;
                }
            }
        }
        if (curve == null) {
            throw new GeneralSecurityException("EC PRIVATE KEY without curve parameters");
        }
        byte[] ecOid = {0x06, 0x07, 0x2A, (byte) 0x86, 0x48, (byte) 0xCE, 0x3D, 0x02, 0x01};
        ByteArrayOutputStream alg = new ByteArrayOutputStream();
        alg.writeBytes(ecOid);
        alg.writeBytes(curve);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(new byte[] {0x02, 0x01, 0x00});
        body.writeBytes(tlv(0x30, alg.toByteArray()));
        body.writeBytes(tlv(0x04, sec1));
        return tlv(0x30, body.toByteArray());
    }

    private static byte[] tlv(int tag, byte[] v) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(tag);
        int n = v.length;
        if (n < 0x80) {
            b.write(n);
        } else if (n < 0x100) {
            b.write(0x81);
            b.write(n);
        } else {
            b.write(0x82);
            b.write(n >> 8);
            b.write(n & 0xff);
        }
        b.writeBytes(v);
        return b.toByteArray();
    }

    private static List<byte[]> blocks(Path p, String type) throws IOException {
        String text = Files.readString(p, StandardCharsets.US_ASCII);
        Matcher m = PEM.matcher(text);
        List<byte[]> out = new ArrayList<>();
        while (m.find()) {
            if (m.group(1).equals(type)) {
                out.add(Base64.getMimeDecoder().decode(m.group(2)));
            }
        }
        return out;
    }

    /** The CommonName of a certificate's subject, or "". */
    public static String commonName(X509Certificate c) {
        try {
            for (Rdn r : new LdapName(c.getSubjectX500Principal().getName()).getRdns()) {
                if (r.getType().equalsIgnoreCase("CN")) {
                    return String.valueOf(r.getValue());
                }
            }
        } catch (InvalidNameException e) {
            return "";
        }
        return "";
    }
}
