package envtest_test

import (
	"os"
	"testing"

	"github.com/certgate/certgate/test/envtest"
)

func TestMain(m *testing.M) { os.Exit(envtest.RunInNetNS(m)) }
