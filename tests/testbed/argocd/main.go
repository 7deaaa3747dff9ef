// Command argocd-multicall is the kindops test bed's multi-call binary for the
// Argo CD components that run as host processes beside the test bed's control
// plane. It dispatches on the basename of argv[0] (or ARGOCD_BINARY_NAME, which
// the repo-server sets when it runs `argocd` as git's askpass helper), like
// upstream's cmd/main.go, but links only the components the test bed needs.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	appcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
	applicationset "github.com/argoproj/argo-cd/v3/cmd/argocd-applicationset-controller/commands"
	gitaskpass "github.com/argoproj/argo-cd/v3/cmd/argocd-git-ask-pass/commands"
	reposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
	"github.com/argoproj/argo-cd/v3/common"
	"github.com/argoproj/argo-cd/v3/util/log"
)

func init() {
	klog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))
}

func main() {
	name := filepath.Base(os.Args[0])
	if v := os.Getenv("ARGOCD_BINARY_NAME"); v != "" {
		name = v
	}
	var cmd *cobra.Command
	switch name {
	case common.CommandApplicationController:
		cmd = appcontroller.NewCommand()
	case common.CommandRepoServer:
		cmd = reposerver.NewCommand()
	case common.CommandApplicationSetController:
		cmd = applicationset.NewCommand()
	case common.CommandGitAskPass:
		cmd = gitaskpass.NewCommand()
	case "argocd-server-init":
		cmd = newServerInitCommand()
	case "argocd-workload-env":
		cmd = newWorkloadEnvCommand()
	default:
		fmt.Fprintf(os.Stderr, "%s: unknown command name %q; link this binary as one of %s, %s, %s, %s, argocd-server-init, argocd-workload-env (or set ARGOCD_BINARY_NAME)\n",
			os.Args[0], name, common.CommandApplicationController, common.CommandRepoServer,
			common.CommandApplicationSetController, common.CommandGitAskPass)
		os.Exit(2)
	}
	if err := cmd.Execute(); err != nil {
		os.Exit(1)
	}
}
