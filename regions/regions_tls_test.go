package regions_test

import (
	"context"
	"testing"
	"time"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/servertest"
	"github.com/cairndb/cairn/server/tlsconf"
	"github.com/cairndb/cairn/server/tlsconf/tlstest"
)

// TestRegions_MutualTLS: with tls-cluster, region links run on mutual
// TLS: a secondary with a certificate of the CA converges; one whose
// certificate comes from another CA receives nothing.
func TestRegions_MutualTLS(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ca, other := tlstest.NewCA(t, dir, "ca"), tlstest.NewCA(t, dir, "other")
	withTLS := func(ca *tlstest.CA, name string) func(*server.Config) {
		cert, key := ca.Issue(name, tlstest.Options{})
		return func(c *server.Config) {
			c.TLS = tlsconf.Settings{CertFile: cert, KeyFile: key, CAFile: ca.File, Cluster: true}
		}
	}
	p := servertest.Start(t, func(c *server.Config) {
		c.Region, c.RegionRole, c.RegionSecret, c.RegionAddr = "r1", "primary", secret, "127.0.0.1:0"
	}, withTLS(ca, "primary"))
	good := servertest.Start(t, secondaryCfg(p, withTLS(ca, "secondary")))
	bad := servertest.Start(t, secondaryCfg(p, func(c *server.Config) {
		withTLS(other, "intruder")(c)
		c.TLS.CAFile = ca.File // trusts the primary, but is not trusted
	}))
	p.Client(t).Set(ctx, "k", "v", 0)
	converge(t, p, good)
	time.Sleep(300 * time.Millisecond)
	if n, _ := bad.Client(t).Exists(ctx, "k").Result(); n != 0 {
		t.Fatal("a secondary with another CA's certificate received entries")
	}
	if st := bad.RegionStatus(); len(st.Shards) != 1 || st.Shards[0].Err == "" {
		t.Fatalf("status %+v: want a link error", st)
	}
}
