package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// newWorkloadEnvCommand prints the environment that the kubelet would give the
// named container of an Argo CD workload (Deployment or StatefulSet), as
// NUL-separated KEY=VALUE records, followed by the workload's generation in a
// record "#generation=N". Only configMapKeyRef and metadata.namespace fieldRef
// entries are resolved: they carry Argo CD's settings (argocd-cm,
// argocd-cmd-params-cm). Plain values (in-pod paths such as
// HELM_CACHE_HOME=/helm-working-dir) and secretKeyRef entries (REDIS_PASSWORD
// from argocd-redis, which the fake redis-secret-init Job never creates) are
// skipped: the test bed sets its own. This lets the test bed's host processes
// honour what the product writes into those ConfigMaps, as real pods would.
func newWorkloadEnvCommand() *cobra.Command {
	var namespace, kind, name, container string
	cmd := &cobra.Command{
		Use:   "argocd-workload-env",
		Short: "Print a workload's ConfigMap-sourced environment (NUL-separated)",
		RunE: func(_ *cobra.Command, _ []string) error {
			loading := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
				clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{})
			cfg, err := loading.ClientConfig()
			if err != nil {
				return fmt.Errorf("kubeconfig: %w", err)
			}
			ctx := context.Background()
			kube := kubernetes.NewForConfigOrDie(cfg)

			var spec *corev1.PodSpec
			var generation int64
			switch strings.ToLower(kind) {
			case "deployment", "deploy":
				d, err := kube.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				spec, generation = &d.Spec.Template.Spec, d.Generation
			case "statefulset", "sts":
				s, err := kube.AppsV1().StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				spec, generation = &s.Spec.Template.Spec, s.Generation
			default:
				return fmt.Errorf("unsupported kind %q", kind)
			}
			var c *corev1.Container
			for i := range spec.Containers {
				if container == "" || spec.Containers[i].Name == container {
					c = &spec.Containers[i]
					break
				}
			}
			if c == nil {
				return fmt.Errorf("%s/%s has no container %q", kind, name, container)
			}

			cms := map[string]*corev1.ConfigMap{}
			getCM := func(n string) (*corev1.ConfigMap, error) {
				if cm, ok := cms[n]; ok {
					return cm, nil
				}
				cm, err := kube.CoreV1().ConfigMaps(namespace).Get(ctx, n, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					cm, err = nil, nil
				}
				if err != nil {
					return nil, err
				}
				cms[n] = cm
				return cm, nil
			}
			out := os.Stdout
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				switch {
				case e.ValueFrom.ConfigMapKeyRef != nil:
					ref := e.ValueFrom.ConfigMapKeyRef
					cm, err := getCM(ref.Name)
					if err != nil {
						return err
					}
					if cm == nil {
						continue
					}
					if v, ok := cm.Data[ref.Key]; ok {
						fmt.Fprintf(out, "%s=%s\x00", e.Name, v)
					}
				case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
					fmt.Fprintf(out, "%s=%s\x00", e.Name, namespace)
				}
			}
			fmt.Fprintf(out, "#generation=%d\x00", generation)
			return nil
		},
	}
	cmd.Flags().StringVar(&namespace, "namespace", "argocd", "namespace")
	cmd.Flags().StringVar(&kind, "kind", "deployment", "deployment or statefulset")
	cmd.Flags().StringVar(&name, "name", "", "workload name")
	cmd.Flags().StringVar(&container, "container", "", "container name (default: first)")
	return cmd
}
