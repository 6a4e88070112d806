package org.ctibridge.gateway.jtapi;

import javax.telephony.JtapiPeer;
import javax.telephony.JtapiPeerFactory;
import javax.telephony.Provider;

import com.cisco.jtapi.extensions.CiscoJtapiPeer;
import com.cisco.jtapi.extensions.CiscoJtapiProperties;

import org.ctibridge.gateway.GatewayConfig;
import org.ctibridge.gateway.Log;

/**
 * Opens providers with Cisco's JTAPI: {@code JtapiPeerFactory.getJtapiPeer(null)} loads
 * the peer of the jar on the class path (the jar of the cluster's release, which the
 * operator brings: Cisco's jar is never part of this project). JTAPI's timers and, for
 * TLS to CTIManager, the CAPF security record are set through CiscoJtapiProperties
 * before the first getProvider (jtapi-facts §7, §9).
 */
public final class CiscoOpener implements ProviderOpener {
    private final GatewayConfig cfg;
    private final Log log;
    private CiscoJtapiPeer peer;

    public CiscoOpener(GatewayConfig cfg, Log log) {
        this.cfg = cfg;
        this.log = log.with("jtapi");
    }

    /** The Cisco JTAPI version of the jar on the class path ("" if unknown). */
    public static String jtapiVersion() {
        try {
            return new com.cisco.jtapi.extensions.CiscoJtapiVersion().getVersion();
        } catch (Throwable t) {
            return "";
        }
    }

    private synchronized CiscoJtapiPeer peer() throws Exception {
        if (peer != null) {
            return peer;
        }
        JtapiPeer p = JtapiPeerFactory.getJtapiPeer(null);
        if (!(p instanceof CiscoJtapiPeer cp)) {
            throw new IllegalStateException("the JTAPI peer on the class path is not Cisco's: " + p.getClass().getName());
        }
        CiscoJtapiProperties props = cp.getJtapiProperties();
        props.setProviderOpenRequestTimeout((int) Math.max(1, cfg.openTimeoutMs / 1000));
        props.setCtiRequestTimeout(cfg.ctiRequestTimeoutS);
        props.setDesiredServerHeartbeatInterval(cfg.desiredServerHeartbeatS);
        props.setRouteSelectTimeout(cfg.routeSelectTimeoutMs);
        props.setJavaSocketConnectTimeout(cfg.socketConnectTimeoutS);
        if (cfg.traceDirectory.isEmpty()) {
            props.setUseFileTrace(false);
            props.setUseJavaConsoleTrace(false);
        } else {
            props.setUseFileTrace(true);
            props.setTracePath(cfg.traceDirectory);
        }
        cp.setJtapiProperties(props);
        peer = cp;
        log.info("Cisco JTAPI loaded", "version", jtapiVersion());
        return cp;
    }

    @Override
    public Provider open(String providerString, String login, String instanceId) throws Exception {
        CiscoJtapiPeer p = peer();
        if (cfg.securityEnabled) {
            String inst = instanceId == null || instanceId.isEmpty() ? cfg.securityInstanceId : instanceId;
            CiscoJtapiProperties props = p.getJtapiProperties();
            props.setSecurityPropertyForInstance(login, inst, cfg.securityAuthCode, cfg.securityTftpServer,
                    cfg.securityTftpPort, cfg.securityCapfServer, cfg.securityCapfPort, cfg.securityCertPath, true);
            p.setJtapiProperties(props);
        }
        return p.getProvider(providerString);
    }
}
