package scale_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/certgate/certgate/internal/testconfig"
)

// routesPerFile is how many HTTPRoutes one generated file holds: an edit
// rewrites one such file, as a tool that keeps one file per team would.
const routesPerFile = 100

// config is a generated configuration directory of n routes.
type config struct {
	dir      string
	n        int
	versions []int
}

// writeConfig writes the Gateway, the backend and n routes into dir.
func writeConfig(dir string, n, port, backendPort int) (*config, error) {
	c := &config{dir: dir, n: n, versions: make([]int, n)}
	if err := os.WriteFile(filepath.Join(dir, "base.yaml"), fmt.Appendf(nil, testconfig.GatewayYAML, port, backendPort), 0o644); err != nil {
		return nil, err
	}
	for f := 0; f*routesPerFile < n; f++ {
		if err := c.writeFile(f); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// edit bumps route i's version and rewrites its file.
func (c *config) edit(i int) error {
	c.versions[i]++
	return c.writeFile(i / routesPerFile)
}

func (c *config) writeFile(f int) error {
	var b strings.Builder
	for i := f * routesPerFile; i < min(c.n, (f+1)*routesPerFile); i++ {
		if i > f*routesPerFile {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, testconfig.ScaleRouteYAML, i, c.versions[i])
	}
	return os.WriteFile(filepath.Join(c.dir, fmt.Sprintf("routes-%04d.yaml", f)), []byte(b.String()), 0o644)
}
