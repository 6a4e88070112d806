package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ctibridge/ctibridge/pkg/ctisim"
)

func newPKICmd(stdout io.Writer) *cobra.Command {
	var (
		dir       string
		instances []string
		nodes     []string
		config    string
		force     bool
	)
	cmd := &cobra.Command{
		Use:   "pki",
		Short: "Write a development PKI: CA, server certificates, client certificates",
		Long: `pki writes a development PKI into --dir:
  ca.pem, ca-key.pem                          the certificate authority
  server-<node>.pem, server-<node>-key.pem    one per CTIManager (SANs 127.0.0.1, ::1, localhost, node)
  client-<id>.pem, client-<id>-key.pem        one per --instance (CommonName = instanceId)
Keys are ECDSA P-256, private keys mode 0600. ctisim --tls-dir DIR then serves TLS 1.3
with mutual authentication; clients present client-<id>.pem and trust ca.pem.`,
		Example: "  ctisim pki --dir ./pki --instance id1 --instance id2",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return fmt.Errorf("%w: --dir is required", errUsage)
			}
			if len(instances) == 0 {
				return fmt.Errorf("%w: name at least one --instance (the client certificate's instanceId)", errUsage)
			}
			if _, err := os.Stat(filepath.Join(dir, ctisim.CAFile)); err == nil && !force {
				return fmt.Errorf("%s already holds a CA; use --force to replace it", dir)
			}
			if len(nodes) == 0 {
				cluster := ctisim.DefaultCluster()
				if config != "" {
					var err error
					if cluster, err = ctisim.LoadCluster(config); err != nil {
						return err
					}
				}
				for _, n := range cluster.CTIManagers {
					nodes = append(nodes, n.Name)
				}
			}
			if _, err := ctisim.WriteDevPKI(dir, nodes, instances); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote a development PKI to %s: CA, server certificates for %v, client certificates for %v\n",
				dir, nodes, instances)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "directory to write into (created if needed)")
	f.StringArrayVar(&instances, "instance", nil, "instanceId to issue a client certificate for (repeatable)")
	f.StringSliceVar(&nodes, "node", nil, "CTIManager names for server certificates (default: the cluster's)")
	f.StringVar(&config, "config", "", "cluster YAML to take node names from (default: the built-in cluster)")
	f.BoolVar(&force, "force", false, "replace an existing CA in --dir")
	return cmd
}
