// Command kube is the test bed's multi-call binary: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler built from their Go modules.
//
// It dispatches on the basename of argv[0] (symlinks named after each
// component) or, failing that, on its first argument:
//
//	kube-apiserver --etcd-servers=...        (symlink)
//	kube kube-apiserver --etcd-servers=...   (first argument)
//
// Each component still runs as its own OS process; they share process-wide
// state (flags, feature gates, metrics registries) and must never share one.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	_ "time/tzdata" // CronJob time zones, as upstream's mains do

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

var commands = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
}

func run(name string, args []string) int {
	if name == "etcd" {
		// etcdmain parses os.Args itself and exits on its own.
		etcdmain.Main(append([]string{"etcd"}, args...))
		return 0
	}
	newCmd, ok := commands[name]
	if !ok {
		return -1
	}
	cmd := newCmd()
	cmd.SetArgs(args)
	return cli.Run(cmd)
}

func main() {
	name := filepath.Base(os.Args[0])
	if code := run(name, os.Args[1:]); code >= 0 {
		os.Exit(code)
	}
	if len(os.Args) > 1 {
		if code := run(os.Args[1], os.Args[2:]); code >= 0 {
			os.Exit(code)
		}
	}
	names := []string{"etcd"}
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: %s COMPONENT [FLAGS...] (or call it through a symlink named COMPONENT)\ncomponents: %s\n",
		name, strings.Join(names, ", "))
	os.Exit(2)
}
