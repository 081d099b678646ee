// Command auditgen writes a large, realistic Kubernetes API-server audit log
// (audit.k8s.io/v1 Events, one JSON object per line, as --audit-log-format=json
// writes them) for bench/runtime.sh.
//
// The mix follows what a busy cluster's log holds under a common audit
// policy (Metadata for most, RequestResponse for workloads and RBAC):
// mostly metadata-level get/list/watch and lease updates by controllers,
// kubelets and service accounts; some pod and deployment creations with
// their request and response objects (a few privileged or mounting host
// paths), secret reads, role bindings (a few to cluster-admin), exec into
// pods and event deletions. The output is deterministic for a seed.
//
//	go run ./bench/auditgen -n 1000000 -o /var/tmp/audit.log
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

func main() {
	n := flag.Int("n", 1_000_000, "number of events")
	out := flag.String("o", "-", "output file (- for stdout)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := run(*n, *out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "auditgen:", err)
		os.Exit(1)
	}
}

func run(n int, path string, seed uint64) error {
	w := os.Stdout
	if path != "-" {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("creating %s: %w", path, err)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	g := &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), t: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)}
	var bytes int64
	for i := range n {
		line := g.event(i)
		bytes += int64(len(line))
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("writing event %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("flushing: %w", err)
	}
	fmt.Fprintf(os.Stderr, "auditgen: %d events, %.1f MiB\n", n, float64(bytes)/(1<<20))
	return nil
}

type gen struct {
	rng *rand.Rand
	t   time.Time
	buf []byte
}

var (
	namespaces = []string{"default", "kube-system", "shop", "payments", "monitoring", "ingress", "data", "ci"}
	readers    = []string{
		"system:kube-controller-manager", "system:kube-scheduler", "system:node:node-1", "system:node:node-2",
		"system:node:node-3", "system:serviceaccount:kube-system:coredns", "system:serviceaccount:monitoring:prometheus",
		"system:serviceaccount:kube-system:kube-proxy", "system:apiserver", "system:serviceaccount:ingress:ingress-nginx",
	}
	readResources = []string{"pods", "endpoints", "services", "configmaps", "nodes", "endpointslices", "namespaces", "replicasets", "deployments", "leases"}
	groups        = map[string]string{"endpointslices": "discovery.k8s.io", "replicasets": "apps", "deployments": "apps", "leases": "coordination.k8s.io"}
	humans        = []string{"alice@example.com", "bob@example.com", "ci-deployer", "system:serviceaccount:ci:deployer"}
	agents        = []string{"kube-controller-manager/v1.36.3 (linux/amd64) kubernetes/abc1234/system:serviceaccount:kube-system:replicaset-controller",
		"kubelet/v1.36.3 (linux/amd64) kubernetes/abc1234", "kubectl/v1.36.3 (linux/amd64) kubernetes/abc1234",
		"Prometheus/2.53.0", "coredns/v1.11.3 (linux/amd64) kubernetes/abc1234"}
)

func (g *gen) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

// event returns line i (with its newline); the buffer is reused.
func (g *gen) event(i int) []byte {
	g.t = g.t.Add(time.Duration(200+g.rng.IntN(600)) * time.Microsecond)
	r := g.rng.IntN(1000)
	b := g.buf[:0]
	switch {
	case r < 820: // controllers, kubelets and monitoring reading and watching
		res := g.pick(readResources)
		verb := []string{"get", "list", "watch", "watch", "list"}[g.rng.IntN(5)]
		ns := g.pick(namespaces)
		if res == "nodes" || res == "namespaces" {
			ns = "" // cluster-scoped
		}
		name := ""
		if verb == "get" {
			name = res[:len(res)-1] + "-" + strconv.Itoa(g.rng.IntN(500))
		}
		b = g.head(b, i, "Metadata", verb, g.pick(readers), g.pick(agents), res, ns, name, "", 200)
	case r < 900: // lease renewals and status updates
		ns := "kube-node-lease"
		name := "node-" + strconv.Itoa(1+g.rng.IntN(3))
		b = g.head(b, i, "Metadata", "update", "system:node:"+name, agents[1], "leases", ns, name, "", 200)
	case r < 940: // pod creations with their objects
		ns := g.pick(namespaces)
		name := "web-" + strconv.Itoa(g.rng.IntN(100000))
		b = g.head(b, i, "RequestResponse", "create", "system:serviceaccount:kube-system:replicaset-controller", agents[0], "pods", ns, "", "", 201)
		pod := g.pod(name, ns, g.rng.IntN(200) == 0, g.rng.IntN(300) == 0)
		b = append(b, `,"requestObject":`...)
		b = append(b, pod...)
		b = append(b, `,"responseObject":`...)
		b = append(b, pod...)
	case r < 960: // deployment creations and updates by people and CI
		ns := g.pick(namespaces)
		name := "svc-" + strconv.Itoa(g.rng.IntN(2000))
		verb := []string{"create", "update", "patch"}[g.rng.IntN(3)]
		b = g.head(b, i, "RequestResponse", verb, g.pick(humans), agents[2], "deployments", ns, name, "", 200)
		b = append(b, `,"requestObject":{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"`...)
		b = append(b, name...)
		b = append(b, `","namespace":"`...)
		b = append(b, ns...)
		b = append(b, `","labels":{"app":"`...)
		b = append(b, name...)
		b = append(b, `"}},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"`...)
		b = append(b, name...)
		b = append(b, `"}},"template":{"metadata":{"labels":{"app":"`...)
		b = append(b, name...)
		b = append(b, `"}},"spec":`...)
		b = append(b, g.podSpec(false, false)...)
		b = append(b, `}}}`...)
	case r < 985: // secret reads (metadata only: never the content)
		ns := g.pick(namespaces)
		b = g.head(b, i, "Metadata", "get", g.pick(append(humans, readers[5:]...)), g.pick(agents), "secrets", ns, "db-"+strconv.Itoa(g.rng.IntN(50)), "", 200)
	case r < 992: // role bindings, now and then to cluster-admin
		role := "view"
		if g.rng.IntN(20) == 0 {
			role = "cluster-admin"
		}
		name := "rb-" + strconv.Itoa(g.rng.IntN(10000))
		b = g.head(b, i, "RequestResponse", "create", g.pick(humans), agents[2], "clusterrolebindings", "", name, "", 201)
		b = append(b, `,"requestObject":{"kind":"ClusterRoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"`...)
		b = append(b, name...)
		b = append(b, `"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"`...)
		b = append(b, role...)
		b = append(b, `"},"subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"user-`...)
		b = strconv.AppendInt(b, int64(g.rng.IntN(100)), 10)
		b = append(b, `"}]}`...)
	case r < 997: // exec into pods
		ns := g.pick(namespaces)
		b = g.head(b, i, "RequestResponse", "create", g.pick(humans), agents[2], "pods", ns, "web-"+strconv.Itoa(g.rng.IntN(100000)), "exec", 101)
	default: // event deletions
		ns := g.pick(namespaces)
		b = g.head(b, i, "Metadata", "delete", g.pick(humans), agents[2], "events", ns, "web.17a"+strconv.Itoa(g.rng.IntN(1000)), "", 200)
	}
	b = g.tail(b)
	g.buf = b
	return b
}

// head writes the common fields, up to (not including) the objects.
func (g *gen) head(b []byte, i int, level, verb, user, agent, res, ns, name, sub string, code int) []byte {
	b = append(b, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"`...)
	b = append(b, level...)
	b = append(b, `","auditID":"`...)
	b = fmt.Appendf(b, "%08x-%04x-4%03x-8%03x-%012x", uint32(i), g.rng.IntN(1<<16), g.rng.IntN(1<<12), g.rng.IntN(1<<12), g.rng.Uint64()&(1<<48-1))
	b = append(b, `","stage":"ResponseComplete","requestURI":"`...)
	grp := groups[res]
	if grp == "" {
		b = append(b, "/api/v1"...)
	} else {
		b = append(b, "/apis/"+grp+"/v1"...)
	}
	if ns != "" {
		b = append(b, "/namespaces/"+ns...)
	}
	b = append(b, "/"+res...)
	if name != "" {
		b = append(b, "/"+name...)
	}
	if sub != "" {
		b = append(b, "/"+sub+"?command=sh&container=app&stdin=true&tty=true"...)
	}
	b = append(b, `","verb":"`...)
	b = append(b, verb...)
	b = append(b, `","user":{"username":"`...)
	b = append(b, user...)
	b = append(b, `","groups":["system:authenticated"]},"sourceIPs":["10.0.`...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(256)), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(1+g.rng.IntN(254)), 10)
	b = append(b, `"],"userAgent":"`...)
	b = append(b, agent...)
	b = append(b, `","objectRef":{"resource":"`...)
	b = append(b, res...)
	if ns != "" {
		b = append(b, `","namespace":"`...)
		b = append(b, ns...)
	}
	if name != "" {
		b = append(b, `","name":"`...)
		b = append(b, name...)
	}
	if grp != "" {
		b = append(b, `","apiGroup":"`...)
		b = append(b, grp...)
	}
	b = append(b, `","apiVersion":"v1"`...)
	if sub != "" {
		b = append(b, `,"subresource":"`...)
		b = append(b, sub...)
		b = append(b, '"')
	}
	b = append(b, `},"responseStatus":{"metadata":{},"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, '}')
	return b
}

func (g *gen) tail(b []byte) []byte {
	ts := g.t.Format("2006-01-02T15:04:05.000000Z")
	b = append(b, `,"requestReceivedTimestamp":"`...)
	b = append(b, ts...)
	b = append(b, `","stageTimestamp":"`...)
	b = append(b, ts...)
	b = append(b, `","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding"}}`...)
	return append(b, '\n')
}

func (g *gen) pod(name, ns string, privileged, hostPath bool) []byte {
	b := []byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"`)
	b = append(b, name...)
	b = append(b, `","namespace":"`...)
	b = append(b, ns...)
	b = append(b, `","labels":{"app":"web","pod-template-hash":"7d9f8c6b5"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d9f8c6b5","uid":"5c0f6c7e-2a43-4c1e-9a51-0a1b2c3d4e5f","controller":true,"blockOwnerDeletion":true}]},"spec":`...)
	b = append(b, g.podSpec(privileged, hostPath)...)
	return append(b, `,"status":{"phase":"Pending","qosClass":"Burstable"}}`...)
}

func (g *gen) podSpec(privileged, hostPath bool) []byte {
	b := []byte(`{"volumes":[{"name":"kube-api-access","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}}],"defaultMode":420}}`)
	if hostPath {
		b = append(b, `,{"name":"docker","hostPath":{"path":"/var/run/docker.sock","type":"Socket"}}`...)
	}
	b = append(b, `],"containers":[{"name":"app","image":"registry.example/shop/web:2.`...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(40)), 10)
	b = append(b, `","ports":[{"containerPort":8080,"protocol":"TCP"}],"env":[{"name":"LOG_LEVEL","value":"info"},{"name":"DB_HOST","value":"db.data.svc"}],"resources":{"limits":{"cpu":"500m","memory":"256Mi"},"requests":{"cpu":"100m","memory":"128Mi"}},"volumeMounts":[{"name":"kube-api-access","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],"livenessProbe":{"httpGet":{"path":"/healthz","port":8080,"scheme":"HTTP"},"initialDelaySeconds":10,"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3},"imagePullPolicy":"IfNotPresent","securityContext":{`...)
	if privileged {
		b = append(b, `"privileged":true`...)
	} else {
		b = append(b, `"allowPrivilegeEscalation":false,"runAsNonRoot":true,"capabilities":{"drop":["ALL"]}`...)
	}
	b = append(b, `}},{"name":"sidecar","image":"registry.example/mesh/proxy:1.22.1","args":["proxy","sidecar"],"resources":{"requests":{"cpu":"10m","memory":"40Mi"}},"securityContext":{"runAsUser":1337,"runAsNonRoot":true}}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"default","securityContext":{"fsGroup":2000},"schedulerName":"default-scheduler","tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],"priority":0,"enableServiceLinks":true}`...)
	return b
}
