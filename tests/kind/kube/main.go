// Command kube is the kind lane's multi-call binary: everything a kind node
// runs from Kubernetes v1.36.3, built from Go modules. On the node itself:
// kubelet, kubeadm, kubectl (/usr/bin links); in the preloaded images: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy.
//
// It dispatches on the basename of argv[0] (a link named after the
// component) or, failing that, on its first argument:
//
//	kubelet --config=...          (link)
//	kube kubelet --config=...     (first argument)
//
// Each component runs as its own OS process, as upstream's binaries do.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	_ "time/tzdata" // CronJob time zones, as upstream's mains do

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubeadm "k8s.io/kubernetes/cmd/kubeadm/app"
	kubeadmerrors "k8s.io/kubernetes/cmd/kubeadm/app/util/errors"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

// Components run like upstream's main functions; os.Args is set to
// [name, args...] first, as some of them read it directly.
var components = map[string]func(){
	"etcd": func() { etcdmain.Main(os.Args) },
	"kube-apiserver": func() {
		os.Exit(cli.Run(apiserver.NewAPIServerCommand()))
	},
	"kube-controller-manager": func() {
		os.Exit(cli.Run(controllermanager.NewControllerManagerCommand()))
	},
	"kube-scheduler": func() {
		os.Exit(cli.Run(scheduler.NewSchedulerCommand()))
	},
	"kube-proxy": func() { os.Exit(cli.Run(proxy.NewProxyCommand())) },
	"kubelet": func() {
		os.Exit(cli.Run(kubelet.NewKubeletCommand(context.Background())))
	},
	"kubeadm": func() { kubeadmerrors.HandleError(kubeadm.Run()) },
	"kubectl": func() {
		logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args)) // nolint:errcheck
		var command *cobra.Command = kubectlcmd.NewDefaultKubectlCommand()
		if err := cli.RunNoErrOutput(command); err != nil {
			kubectlutil.CheckErr(err)
		}
	},
}

func run(name string, args []string) bool {
	f, ok := components[name]
	if !ok {
		return false
	}
	os.Args = append([]string{name}, args...)
	f()
	os.Exit(0)
	return true
}

func main() {
	name := filepath.Base(os.Args[0])
	if run(name, os.Args[1:]) {
		return
	}
	if len(os.Args) > 1 && run(os.Args[1], os.Args[2:]) {
		return
	}
	var names []string
	for n := range components {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: %s COMPONENT [FLAGS...] (or call it through a link named COMPONENT)\ncomponents: %s\n",
		name, strings.Join(names, ", "))
	os.Exit(2)
}
