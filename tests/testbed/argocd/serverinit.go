package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	appclientset "github.com/argoproj/argo-cd/v3/pkg/client/clientset/versioned"
	"github.com/argoproj/argo-cd/v3/util/settings"
)

// newServerInitCommand does, once, what argocd-server does at start-up before it
// serves anything (server.NewServer in argo-cd v3.5.1): InitializeSettings (admin
// password + argocd-initial-admin-secret, server.secretkey, the self-signed TLS
// cert unless server.insecure) and initializeDefaultProject (AppProject
// "default"). The test bed runs no argocd-server, whose pod is fake, so
// without this nothing would create them. It uses upstream's own code for the
// settings part; the default project below is a copy of initializeDefaultProject,
// which is unexported.
func newServerInitCommand() *cobra.Command {
	var namespace string
	cmd := &cobra.Command{
		Use:   "argocd-server-init",
		Short: "Create what argocd-server creates at start-up (settings, default AppProject)",
		RunE: func(_ *cobra.Command, _ []string) error {
			loading := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
				clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{})
			cfg, err := loading.ClientConfig()
			if err != nil {
				return fmt.Errorf("kubeconfig: %w", err)
			}
			ctx := context.Background()
			kube := kubernetes.NewForConfigOrDie(cfg)
			apps := appclientset.NewForConfigOrDie(cfg)

			// argocd-server's --insecure comes from argocd-cmd-params-cm server.insecure.
			insecure := false
			if cm, err := kube.CoreV1().ConfigMaps(namespace).Get(ctx, "argocd-cmd-params-cm", metav1.GetOptions{}); err == nil {
				insecure, _ = strconv.ParseBool(cm.Data["server.insecure"])
			}
			mgr := settings.NewSettingsManager(ctx, kube, namespace)
			if _, err := mgr.InitializeSettings(insecure); err != nil {
				return fmt.Errorf("initialize settings: %w", err)
			}

			proj := &v1alpha1.AppProject{
				ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.DefaultAppProjectName, Namespace: namespace},
				Spec: v1alpha1.AppProjectSpec{
					SourceRepos:              []string{"*"},
					Destinations:             []v1alpha1.ApplicationDestination{{Server: "*", Namespace: "*"}},
					ClusterResourceWhitelist: []v1alpha1.ClusterResourceRestrictionItem{{Group: "*", Kind: "*"}},
				},
			}
			_, err = apps.ArgoprojV1alpha1().AppProjects(namespace).Get(ctx, proj.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				_, err = apps.ArgoprojV1alpha1().AppProjects(namespace).Create(ctx, proj, metav1.CreateOptions{})
				if apierrors.IsAlreadyExists(err) {
					err = nil
				}
				if err == nil {
					fmt.Fprintf(os.Stderr, "created AppProject %s/%s\n", namespace, proj.Name)
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&namespace, "namespace", "argocd", "Argo CD's namespace")
	return cmd
}
