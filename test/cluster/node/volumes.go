package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// environment builds a container's environment as kubelet would: the
// service host variables, envFrom, then env (value with $(VAR) expansion,
// fieldRef, secretKeyRef, configMapKeyRef), over env: the image's.
func (a *Agent) environment(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, st *podState, env map[string]string) (map[string]string, error) {
	host, port, err := a.apiServerForPods(ctx)
	if err != nil {
		return nil, err
	}
	env["HOSTNAME"] = pod.Name
	env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"], env["KUBERNETES_SERVICE_PORT_HTTPS"] = host, port, port
	for _, ef := range spec.EnvFrom {
		var data map[string]string
		switch {
		case ef.ConfigMapRef != nil:
			cm, err := a.Client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, ef.ConfigMapRef.Name, metav1.GetOptions{})
			if err != nil {
				if apierrors.IsNotFound(err) && ef.ConfigMapRef.Optional != nil && *ef.ConfigMapRef.Optional {
					continue
				}
				return nil, fmt.Errorf("envFrom ConfigMap %s: %w", ef.ConfigMapRef.Name, err)
			}
			data = cm.Data
		case ef.SecretRef != nil:
			s, err := a.Client.CoreV1().Secrets(pod.Namespace).Get(ctx, ef.SecretRef.Name, metav1.GetOptions{})
			if err != nil {
				if apierrors.IsNotFound(err) && ef.SecretRef.Optional != nil && *ef.SecretRef.Optional {
					continue
				}
				return nil, fmt.Errorf("envFrom Secret %s: %w", ef.SecretRef.Name, err)
			}
			data = map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
			}
		}
		for k, v := range data {
			env[ef.Prefix+k] = v
		}
	}
	for _, e := range spec.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expandVars(e.Value, env)
			continue
		}
		v, err := a.valueFrom(ctx, pod, st, e.ValueFrom)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if v != nil {
			env[e.Name] = *v
		}
	}
	return env, nil
}

func (a *Agent) valueFrom(ctx context.Context, pod *corev1.Pod, st *podState, vf *corev1.EnvVarSource) (*string, error) {
	switch {
	case vf.FieldRef != nil:
		v, err := a.fieldValue(pod, st, vf.FieldRef.FieldPath)
		return &v, err
	case vf.SecretKeyRef != nil:
		s, err := a.Client.CoreV1().Secrets(pod.Namespace).Get(ctx, vf.SecretKeyRef.Name, metav1.GetOptions{})
		optional := vf.SecretKeyRef.Optional != nil && *vf.SecretKeyRef.Optional
		if err != nil {
			if apierrors.IsNotFound(err) && optional {
				return nil, nil
			}
			return nil, fmt.Errorf("secret %s: %w", vf.SecretKeyRef.Name, err)
		}
		b, ok := s.Data[vf.SecretKeyRef.Key]
		if !ok {
			if optional {
				return nil, nil
			}
			return nil, fmt.Errorf("secret %s has no key %q", vf.SecretKeyRef.Name, vf.SecretKeyRef.Key)
		}
		v := string(b)
		return &v, nil
	case vf.ConfigMapKeyRef != nil:
		cm, err := a.Client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, vf.ConfigMapKeyRef.Name, metav1.GetOptions{})
		optional := vf.ConfigMapKeyRef.Optional != nil && *vf.ConfigMapKeyRef.Optional
		if err != nil {
			if apierrors.IsNotFound(err) && optional {
				return nil, nil
			}
			return nil, fmt.Errorf("ConfigMap %s: %w", vf.ConfigMapKeyRef.Name, err)
		}
		v, ok := cm.Data[vf.ConfigMapKeyRef.Key]
		if !ok {
			if optional {
				return nil, nil
			}
			return nil, fmt.Errorf("ConfigMap %s has no key %q", vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key)
		}
		return &v, nil
	}
	return nil, fmt.Errorf("unsupported valueFrom (only fieldRef, secretKeyRef, configMapKeyRef)")
}

// fieldValue resolves a downward-API field path.
func (a *Agent) fieldValue(pod *corev1.Pod, st *podState, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return a.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return a.NodeIP, nil
	case "status.podIP", "status.podIPs":
		return st.ip, nil
	}
	for _, p := range []struct {
		prefix string
		m      map[string]string
	}{{"metadata.labels", pod.Labels}, {"metadata.annotations", pod.Annotations}} {
		if path == p.prefix {
			var lines []string
			for k, v := range p.m {
				lines = append(lines, fmt.Sprintf("%s=%q", k, v))
			}
			return strings.Join(sorted(lines), "\n"), nil
		}
		if strings.HasPrefix(path, p.prefix+"['") && strings.HasSuffix(path, "']") {
			return p.m[path[len(p.prefix)+2:len(path)-2]], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

// writeVolumes materialises the Pod's volumes under its directory and
// returns each volume's path. A hostPath volume is its host path.
func (a *Agent) writeVolumes(ctx context.Context, pod *corev1.Pod, st *podState) (map[string]string, error) {
	out := map[string]string{}
	st.tokens = nil // a retry after a failure starts over
	for _, v := range pod.Spec.Volumes {
		dir := filepath.Join(st.dir, "volumes", v.Name)
		files := map[string][]byte{}
		switch {
		case v.HostPath != nil:
			out[v.Name] = v.HostPath.Path
			continue
		case v.EmptyDir != nil:
		case v.Secret != nil:
			if err := a.secretFiles(ctx, pod.Namespace, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, files); err != nil {
				return nil, fmt.Errorf("volume %s: %w", v.Name, err)
			}
		case v.ConfigMap != nil:
			if err := a.configMapFiles(ctx, pod.Namespace, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, files); err != nil {
				return nil, fmt.Errorf("volume %s: %w", v.Name, err)
			}
		case v.DownwardAPI != nil:
			if err := a.downwardFiles(pod, st, v.DownwardAPI.Items, files); err != nil {
				return nil, fmt.Errorf("volume %s: %w", v.Name, err)
			}
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				var err error
				switch {
				case src.Secret != nil:
					err = a.secretFiles(ctx, pod.Namespace, src.Secret.Name, src.Secret.Items, src.Secret.Optional, files)
				case src.ConfigMap != nil:
					err = a.configMapFiles(ctx, pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, files)
				case src.DownwardAPI != nil:
					err = a.downwardFiles(pod, st, src.DownwardAPI.Items, files)
				case src.ServiceAccountToken != nil:
					err = a.tokenFile(ctx, pod, st, dir, src.ServiceAccountToken, files)
				default:
					err = fmt.Errorf("unsupported projected source (only secret, configMap, downwardAPI, serviceAccountToken)")
				}
				if err != nil {
					return nil, fmt.Errorf("volume %s: %w", v.Name, err)
				}
			}
		default:
			return nil, fmt.Errorf("volume %s: unsupported volume type (the local node agent supports emptyDir, hostPath, "+
				"secret, configMap, downwardAPI and projected)", v.Name)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if v.EmptyDir != nil {
			// Any user of the Pod may write there, as kubelet makes it.
			if err := os.Chmod(dir, 0o777); err != nil {
				return nil, err
			}
		}
		for name, b := range files {
			p := filepath.Join(dir, filepath.Clean("/"+name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				return nil, err
			}
		}
		out[v.Name] = dir
	}
	return out, nil
}

func (a *Agent) secretFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool, files map[string][]byte) error {
	s, err := a.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) && optional != nil && *optional {
			return nil
		}
		return fmt.Errorf("secret %s/%s: %w", ns, name, err)
	}
	return project(s.Data, items, files, "Secret "+name)
}

func (a *Agent) configMapFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool, files map[string][]byte) error {
	cm, err := a.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) && optional != nil && *optional {
			return nil
		}
		return fmt.Errorf("ConfigMap %s/%s: %w", ns, name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return project(data, items, files, "ConfigMap "+name)
}

func project(data map[string][]byte, items []corev1.KeyToPath, files map[string][]byte, what string) error {
	if len(items) == 0 {
		for k, v := range data {
			files[k] = v
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("%s has no key %q", what, it.Key)
		}
		files[it.Path] = v
	}
	return nil
}

func (a *Agent) downwardFiles(pod *corev1.Pod, st *podState, items []corev1.DownwardAPIVolumeFile, files map[string][]byte) error {
	for _, it := range items {
		if it.FieldRef == nil {
			return fmt.Errorf("downwardAPI %s: only fieldRef is supported", it.Path)
		}
		v, err := a.fieldValue(pod, st, it.FieldRef.FieldPath)
		if err != nil {
			return err
		}
		files[it.Path] = []byte(v)
	}
	return nil
}

// projectedToken is a service-account token in a projected volume, which
// the agent replaces before it expires.
type projectedToken struct {
	file    string
	src     *corev1.ServiceAccountTokenProjection
	refresh time.Time
}

// tokenFile asks the API server for a token of the Pod's ServiceAccount
// through the TokenRequest API, as kubelet does: bound to the Pod, with
// the projection's audience and expiry (the API server's defaults when
// unset), and remembers it for refreshToken.
func (a *Agent) tokenFile(ctx context.Context, pod *corev1.Pod, st *podState, dir string,
	src *corev1.ServiceAccountTokenProjection, files map[string][]byte) error {
	token, refresh, err := a.requestToken(ctx, pod, src)
	if err != nil {
		return err
	}
	files[src.Path] = []byte(token)
	st.tokens = append(st.tokens, &projectedToken{file: filepath.Join(dir, filepath.Clean("/"+src.Path)), src: src, refresh: refresh})
	return nil
}

// requestToken returns a token and when to replace it: after 80 % of its
// lifetime, or 24 hours, whichever is first (kubelet's rule).
func (a *Agent) requestToken(ctx context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) (string, time.Time, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: src.ExpirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if src.Audience != "" {
		tr.Spec.Audiences = []string{src.Audience}
	}
	now := time.Now()
	res, err := a.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, tr, metav1.CreateOptions{})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token for ServiceAccount %s/%s: %w", pod.Namespace, sa, err)
	}
	life := res.Status.ExpirationTimestamp.Sub(now)
	return res.Status.Token, now.Add(min(life*8/10, 24*time.Hour)), nil
}

// refreshTokens replaces the Pod's tokens that are due. The new file is
// renamed over the old inside the volume's directory, which containers
// see through a bind mount of that directory.
func (a *Agent) refreshTokens(ctx context.Context, pod *corev1.Pod, st *podState) error {
	for _, t := range st.tokens {
		if time.Now().Before(t.refresh) {
			continue
		}
		token, refresh, err := a.requestToken(ctx, pod, t.src)
		if err != nil {
			return err
		}
		tmp := filepath.Join(filepath.Dir(t.file), ".token.tmp")
		if err := os.WriteFile(tmp, []byte(token), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, t.file); err != nil {
			return err
		}
		t.refresh = refresh
		a.Log.Info("token refreshed", "pod", st.key, "file", t.file, "next", refresh)
	}
	return nil
}

func sorted(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// insecureTLS is for httpGet readiness probes with scheme HTTPS, which
// kubelet does not verify either.
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // kubelet's HTTPS probes skip verification too
}
