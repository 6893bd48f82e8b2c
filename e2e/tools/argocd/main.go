// Command argocd: the Argo CD components the sandbox runs, in one binary switched on its name
// (or on ARGOCD_BINARY_NAME), as upstream's cmd/main.go does:
//
//	argocd-application-controller   the controller that syncs Applications
//	argocd-repo-server              renders manifests from Git (helm, multi-source)
//	argocd-notifications            the notifications controller (the promotion gate's commit statuses)
//	argocd-git-ask-pass             git's credential helper; the repo-server runs it as
//	                                GIT_ASKPASS=argocd with ARGOCD_BINARY_NAME=argocd-git-ask-pass
//
// The binary is installed as bin/argocd (the name the repo-server puts in GIT_ASKPASS) with the
// component names as symlinks. The API server, CLI, Dex and the other components are not built.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	appcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
	gitaskpass "github.com/argoproj/argo-cd/v3/cmd/argocd-git-ask-pass/commands"
	notifications "github.com/argoproj/argo-cd/v3/cmd/argocd-notification/commands"
	reposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
	"github.com/argoproj/argo-cd/v3/util/log"
)

// components maps a binary name to its command.
var components = map[string]func() *cobra.Command{
	"argocd-application-controller": appcontroller.NewCommand,
	"argocd-repo-server":            reposerver.NewCommand,
	"argocd-git-ask-pass":           gitaskpass.NewCommand,
	"argocd-notifications":          notifications.NewCommand,
}

func main() {
	// klog (client-go) logs through Argo CD's logger, with its level and format.
	klog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))

	name := filepath.Base(os.Args[0])
	if v := os.Getenv("ARGOCD_BINARY_NAME"); v != "" {
		name = v
	}
	newCommand, ok := components[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "%s: run as argocd-application-controller, argocd-repo-server, argocd-notifications or argocd-git-ask-pass (a symlink or ARGOCD_BINARY_NAME)\n", name)
		os.Exit(2)
	}
	command := newCommand()
	if name == "argocd-git-ask-pass" {
		command.SilenceUsage = true
	}
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}
