package org.ctibridge.gateway.jtapi;

import javax.telephony.Provider;

/**
 * Opens a JTAPI provider. Production code uses Cisco's peer ({@link CiscoOpener}); tests
 * pass a test double. One call per bridge session.
 */
public interface ProviderOpener {
    /**
     * Calls JtapiPeer.getProvider. Blocks until the provider is open (JTAPI: returns once
     * the CTIManager accepted the login and the devices are enumerated) or throws.
     *
     * @param providerString "host;login=…;passwd=…[;appinfo=…]"
     * @param login the application user, for the security record (TLS to CUCM)
     * @param instanceId the instance id of this session (the client certificate's name)
     */
    Provider open(String providerString, String login, String instanceId) throws Exception;
}
