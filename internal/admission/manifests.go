package admission

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// ManifestOptions shape the install manifests.
type ManifestOptions struct {
	Namespace     string // default "bulwark-system"
	Name          string // objects' name, default "bulwark-admission"
	Image         string // default "ghcr.io/bulwarkdev/bulwark:latest" (pin it by digest)
	FailurePolicy string // "Fail" (default) or "Ignore"
	CABundle      []byte // PEM of the CA that signed the serving certificate
	// TLSSecret holds tls.crt and tls.key (default Name+"-tls");
	// ConfigMap holds config.yaml, the policy config (default
	// Name+"-config", optional).
	TLSSecret string
	ConfigMap string
	// Server, when set, is the Bulwark server the webhook takes its
	// policy config and image verdicts from (admission serve --server):
	// BW-K8S-IMAGE-VULNS then gates images. TokenSecret is the Secret
	// whose key "token" is its API token (scope read; default
	// Name+"-token"); ServerCAConfigMap a ConfigMap whose key "ca.crt" it
	// trusts for the server ("": the system roots).
	Server            string
	TokenSecret       string
	ServerCAConfigMap string
}

// WebhookName is the webhook's name in the ValidatingWebhookConfiguration;
// audit annotations are recorded as WebhookName + "/violations".
const WebhookName = "validate.bulwark.dev"

func (o ManifestOptions) withDefaults() ManifestOptions {
	if o.Namespace == "" {
		o.Namespace = "bulwark-system"
	}
	if o.Name == "" {
		o.Name = "bulwark-admission"
	}
	if o.Image == "" {
		o.Image = "ghcr.io/bulwarkdev/bulwark:latest"
	}
	if o.FailurePolicy == "" {
		o.FailurePolicy = "Fail"
	}
	if o.TLSSecret == "" {
		o.TLSSecret = o.Name + "-tls"
	}
	if o.ConfigMap == "" {
		o.ConfigMap = o.Name + "-config"
	}
	if o.TokenSecret == "" {
		o.TokenSecret = o.Name + "-token"
	}
	return o
}

// Validate checks the failure policy and the server's wiring.
func (o ManifestOptions) Validate() error {
	switch o.FailurePolicy {
	case "", "Fail", "Ignore":
	default:
		return fmt.Errorf("failure policy %q: want Fail or Ignore", o.FailurePolicy)
	}
	return o.validServer()
}

// k8sObjectName is a Secret's or ConfigMap's name (DNS-1123 subdomain).
var k8sObjectName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// validServer checks what goes into the Deployment for the server: an
// https URL without credentials or path (the token is sent on every
// request), and object names Kubernetes takes.
func (o ManifestOptions) validServer() error {
	if o.Server == "" {
		return nil
	}
	u, err := url.Parse(o.Server)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || strings.ContainsAny(o.Server, " \t\n\"'") {
		return fmt.Errorf("server %q: want https://HOST[:PORT] (the webhook sends its token on every request)", o.Server)
	}
	for _, n := range []struct{ what, v string }{{"token Secret", o.TokenSecret}, {"server CA ConfigMap", o.ServerCAConfigMap}} {
		if n.v != "" && !k8sObjectName.MatchString(n.v) {
			return fmt.Errorf("%s %q: not a Kubernetes object name", n.what, n.v)
		}
	}
	return nil
}

// Manifests returns the YAML to install the webhook: ServiceAccount, Role
// and RoleBinding (read its own config map), ClusterRole and
// ClusterRoleBinding (list and watch namespaces, for their Pod Security
// labels: nothing else, the webhook reads everything it judges from the
// AdmissionReview), Service, Deployment (2
// replicas, probes, hardened), PodDisruptionBudget and the
// ValidatingWebhookConfiguration (pods, ephemeral containers, the workload
// kinds, Services and Ingresses on CREATE and UPDATE; kube-system and the
// webhook's own namespace excluded; sideEffects None; timeout 5 s). An
// invalid FailurePolicy is replaced by Fail; call Validate first.
func Manifests(o ManifestOptions) string {
	if o.Validate() != nil {
		o.FailurePolicy = "Fail"
	}
	if o.validServer() != nil {
		o.Server = "" // never written unchecked into the Deployment
	}
	o = o.withDefaults()
	ca := ""
	if len(o.CABundle) > 0 {
		ca = "\n      caBundle: " + base64.StdEncoding.EncodeToString(o.CABundle)
	}
	r := strings.NewReplacer(
		"$NS", o.Namespace, "$NAME", o.Name, "$IMAGE", o.Image, "$FAILURE", o.FailurePolicy,
		"$CA", ca, "$SECRET", o.TLSSecret, "$CONFIG", o.ConfigMap, "$WEBHOOK", WebhookName,
		"$PATH", PathValidate, "$READYZ", PathReadyz, "$HEALTHZ", PathHealthz,
		"$SERVERHEAD", serverHead(o), "$SERVERARGS", serverArgs(o), "$SERVERMOUNTS", serverMounts(o), "$SERVERVOLUMES", serverVolumes(o),
	)
	return r.Replace(manifestTemplate)
}

// serverHead, serverArgs, serverMounts and serverVolumes wire the webhook
// to the server (ManifestOptions.Server): its URL, the token read from a
// mounted Secret (never on the command line), the server's CA, and an
// emptyDir for the last good policy config (the root filesystem is read
// only; the copy outlives a container restart, not the pod).
func serverHead(o ManifestOptions) string {
	if o.Server == "" {
		return ""
	}
	s := "# Policy config and image verdicts from the Bulwark server " + o.Server + ";\n" +
		"# its API token (scope read) goes in Secret " + o.TokenSecret + " (token):\n" +
		"#   kubectl -n " + o.Namespace + " create secret generic " + o.TokenSecret + " --from-literal=token=\"$(bulwark token create --scope read ...)\"\n"
	if o.ServerCAConfigMap != "" {
		s += "# The server's CA certificate: ConfigMap " + o.ServerCAConfigMap + " (ca.crt).\n"
	}
	return s
}

func serverArgs(o ManifestOptions) string {
	if o.Server == "" {
		return ""
	}
	s := "\n            - --server=" + o.Server +
		"\n            - --token-file=/etc/bulwark/server-token/token" +
		"\n            - --cache-dir=/var/cache/bulwark"
	if o.ServerCAConfigMap != "" {
		s += "\n            - --server-ca=/etc/bulwark/server-ca/ca.crt"
	}
	return s
}

func serverMounts(o ManifestOptions) string {
	if o.Server == "" {
		return ""
	}
	s := "\n            - name: server-token\n              mountPath: /etc/bulwark/server-token\n              readOnly: true" +
		"\n            - name: cache\n              mountPath: /var/cache/bulwark"
	if o.ServerCAConfigMap != "" {
		s += "\n            - name: server-ca\n              mountPath: /etc/bulwark/server-ca\n              readOnly: true"
	}
	return s
}

func serverVolumes(o ManifestOptions) string {
	if o.Server == "" {
		return ""
	}
	s := "\n        - name: server-token\n          secret:\n            secretName: " + o.TokenSecret +
		"\n        - name: cache\n          emptyDir:\n            sizeLimit: 16Mi"
	if o.ServerCAConfigMap != "" {
		s += "\n        - name: server-ca\n          configMap:\n            name: " + o.ServerCAConfigMap
	}
	return s
}

const manifestTemplate = `# Bulwark admission webhook. The serving certificate (for
# $NAME.$NS.svc) goes in Secret $SECRET (tls.crt, tls.key);
# the policy config, optionally, in ConfigMap $CONFIG (config.yaml).
$SERVERHEADapiVersion: v1
kind: ServiceAccount
metadata:
  name: $NAME
  namespace: $NS
automountServiceAccountToken: false
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: $NAME
  namespace: $NS
rules:
  - apiGroups: [""]
    resources: ["configmaps"]
    resourceNames: ["$CONFIG"]
    verbs: ["get", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: $NAME
  namespace: $NS
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: $NAME
subjects:
  - kind: ServiceAccount
    name: $NAME
    namespace: $NS
---
# Namespaces' pod-security.kubernetes.io labels (admission serve
# --pod-security-labels): listed once, then watched.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: $NAME-namespaces
rules:
  - apiGroups: [""]
    resources: ["namespaces"]
    verbs: ["list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: $NAME-namespaces
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: $NAME-namespaces
subjects:
  - kind: ServiceAccount
    name: $NAME
    namespace: $NS
---
apiVersion: v1
kind: Service
metadata:
  name: $NAME
  namespace: $NS
  labels:
    app.kubernetes.io/name: $NAME
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: $NAME
  ports:
    - name: https
      port: 443
      targetPort: https
      protocol: TCP
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $NAME
  namespace: $NS
  labels:
    app.kubernetes.io/name: $NAME
spec:
  replicas: 2
  # A rollout replaces one replica at a time and keeps both serving.
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: $NAME
  template:
    metadata:
      labels:
        app.kubernetes.io/name: $NAME
    spec:
      serviceAccountName: $NAME
      automountServiceAccountToken: false
      # Shutdown: preStop sleeps 5 s while the endpoints drop the pod; then
      # SIGTERM: /readyz fails, 5 s more of serving (--drain-delay), and the
      # reviews in flight end within their 5 s timeoutSeconds (bounded by
      # --shutdown-timeout=10s). 5 + 5 + 10 = 20 s, and 10 s to spare.
      terminationGracePeriodSeconds: 30
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        seccompProfile:
          type: RuntimeDefault
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              app.kubernetes.io/name: $NAME
      containers:
        - name: webhook
          image: $IMAGE
          imagePullPolicy: IfNotPresent
          args:
            - admission
            - serve
            - --addr=:8443
            - --cert=/etc/bulwark/tls/tls.crt
            - --key=/etc/bulwark/tls/tls.key
            - --config=/etc/bulwark/config/config.yaml
            - --pod-security-labels
            - --drain-delay=5s
            - --shutdown-timeout=10s$SERVERARGS
          lifecycle:
            preStop:
              # The image has no shell: the kubelet sleeps (Kubernetes 1.30+).
              sleep:
                seconds: 5
          ports:
            - name: https
              containerPort: 8443
              protocol: TCP
          readinessProbe:
            httpGet:
              path: $READYZ
              port: https
              scheme: HTTPS
            periodSeconds: 5
          livenessProbe:
            httpGet:
              path: $HEALTHZ
              port: https
              scheme: HTTPS
            periodSeconds: 10
            failureThreshold: 3
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              cpu: "1"
              memory: 256Mi
          securityContext:
            allowPrivilegeEscalation: false
            privileged: false
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            capabilities:
              drop: ["ALL"]
            seccompProfile:
              type: RuntimeDefault
          volumeMounts:
            - name: tls
              mountPath: /etc/bulwark/tls
              readOnly: true
            - name: config
              mountPath: /etc/bulwark/config
              readOnly: true
            # The API token, for the namespace watch only: mounted here
            # rather than automounted into every container.
            - name: api-access
              mountPath: /var/run/secrets/kubernetes.io/serviceaccount
              readOnly: true$SERVERMOUNTS
      volumes:
        - name: api-access
          projected:
            sources:
              - serviceAccountToken:
                  path: token
                  expirationSeconds: 3607
              - configMap:
                  name: kube-root-ca.crt
                  items:
                    - key: ca.crt
                      path: ca.crt
              - downwardAPI:
                  items:
                    - path: namespace
                      fieldRef:
                        fieldPath: metadata.namespace
        - name: tls
          secret:
            secretName: $SECRET
        - name: config
          configMap:
            name: $CONFIG
            optional: true$SERVERVOLUMES
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: $NAME
  namespace: $NS
spec:
  # One of the two replicas may be evicted at a time; the other answers.
  minAvailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: $NAME
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: $NAME
webhooks:
  - name: $WEBHOOK
    admissionReviewVersions: ["v1"]
    sideEffects: None
    failurePolicy: $FAILURE
    matchPolicy: Equivalent
    timeoutSeconds: 5
    clientConfig:
      service:
        namespace: $NS
        name: $NAME
        path: $PATH
        port: 443$CA
    namespaceSelector:
      matchExpressions:
        - key: kubernetes.io/metadata.name
          operator: NotIn
          values: ["kube-system", "$NS"]
    rules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["pods", "pods/ephemeralcontainers", "replicationcontrollers", "services"]
        scope: Namespaced
      - apiGroups: ["apps"]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["deployments", "replicasets", "statefulsets", "daemonsets"]
        scope: Namespaced
      - apiGroups: ["batch"]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["jobs", "cronjobs"]
        scope: Namespaced
      - apiGroups: ["networking.k8s.io"]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["ingresses"]
        scope: Namespaced
`
