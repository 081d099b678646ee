package main

import (
	"encoding/json"
	"fmt"
)

// class is what a body should get from the webhook.
type class int

const (
	compliant class = iota // allowed, no warning
	auditOnly              // allowed, with warnings (audit-mode violations)
	enforced               // denied (a privileged container)
)

// reviews builds the request bodies: Pods and Deployments of each class,
// shaped like what the API server sends for `kubectl apply` (defaulted
// fields, managedFields, the last-applied annotation, user info).
func reviews() []body {
	var out []body
	i := 0
	for _, kind := range []string{"Pod", "Deployment"} {
		for _, c := range []class{compliant, compliant, auditOnly, enforced} {
			for containers := 1; containers <= 2; containers++ {
				i++
				b, err := json.Marshal(review(kind, c, containers, i))
				if err != nil {
					panic(err) // static data: cannot fail
				}
				out = append(out, body{body: b, wantAllow: c != enforced})
			}
		}
	}
	return out
}

func review(kind string, c class, containers, i int) map[string]any {
	name := fmt.Sprintf("svc-%d", i)
	ns := fmt.Sprintf("team-%d", i%5)
	pod := podSpec(c, containers, name)
	labels := map[string]any{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "shop", "app.kubernetes.io/version": "2.4.1", "team": ns}
	var obj map[string]any
	var resource, group string
	switch kind {
	case "Pod":
		obj = map[string]any{"apiVersion": "v1", "kind": "Pod", "spec": pod}
		resource = "pods"
	default:
		obj = map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "spec": map[string]any{
			"replicas": 3, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
			"selector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": name}},
			"strategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxSurge": "25%", "maxUnavailable": "25%"}},
			"template": map[string]any{"metadata": map[string]any{"labels": labels, "annotations": map[string]any{"prometheus.io/scrape": "true", "prometheus.io/port": "9090"}}, "spec": pod},
		}}
		resource, group = "deployments", "apps"
	}
	lastApplied, _ := json.Marshal(obj)
	obj["metadata"] = map[string]any{
		"name": name, "namespace": ns, "uid": fmt.Sprintf("6f1c2b1e-8a9d-4c1e-9b0a-%012d", i), "generation": 1,
		"creationTimestamp": "2026-11-27T08:00:00Z", "labels": labels,
		"annotations": map[string]any{"kubectl.kubernetes.io/last-applied-configuration": string(lastApplied)},
		"managedFields": []any{map[string]any{
			"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": obj["apiVersion"], "time": "2026-11-27T08:00:00Z",
			"fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:metadata": map[string]any{"f:annotations": map[string]any{".": map[string]any{}, "f:kubectl.kubernetes.io/last-applied-configuration": map[string]any{}}, "f:labels": map[string]any{".": map[string]any{}}}, "f:spec": map[string]any{}},
		}},
	}
	version := "v1"
	return map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{
			"uid":         fmt.Sprintf("0b9f5c2e-1d3a-4f6b-8c7d-%012d", i),
			"kind":        map[string]any{"group": group, "version": version, "kind": kind},
			"resource":    map[string]any{"group": group, "version": version, "resource": resource},
			"requestKind": map[string]any{"group": group, "version": version, "kind": kind},
			"name":        name, "namespace": ns, "operation": "CREATE",
			"userInfo": map[string]any{"username": "system:serviceaccount:ci:deployer", "uid": "3a1f", "groups": []any{"system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"}},
			"object":   obj, "oldObject": nil, "dryRun": false,
			"options": map[string]any{"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions", "fieldManager": "kubectl-client-side-apply", "fieldValidation": "Strict"},
		},
	}
}

func podSpec(c class, containers int, name string) map[string]any {
	var list []any
	for j := range containers {
		sc := map[string]any{"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": map[string]any{"drop": []any{"ALL"}}}
		image := fmt.Sprintf("registry.example.com/shop/%s-%d@sha256:4b1b6d3fa8d4f4e0c6c8a0f8f3c1d2e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d%d", name, j, j)
		resources := map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}, "limits": map[string]any{"cpu": "500m", "memory": "256Mi"}}
		switch {
		case c == auditOnly && j == 0:
			image = "docker.io/library/nginx:latest" // tag and registry: audit-mode policies
			resources = map[string]any{}
		case c == enforced && j == containers-1:
			sc = map[string]any{"privileged": true}
		}
		var env []any
		for k := range 5 {
			env = append(env, map[string]any{"name": fmt.Sprintf("SETTING_%d", k), "value": fmt.Sprintf("value-%d-for-%s", k, name)})
		}
		env = append(env, map[string]any{"name": "DB_PASSWORD", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": name + "-db", "key": "password"}}})
		list = append(list, map[string]any{
			"name": fmt.Sprintf("c%d", j), "image": image, "imagePullPolicy": "IfNotPresent",
			"args":  []any{"--listen=:8080", "--metrics=:9090", "--log-format=json"},
			"ports": []any{map[string]any{"name": "http", "containerPort": 8080, "protocol": "TCP"}, map[string]any{"name": "metrics", "containerPort": 9090, "protocol": "TCP"}},
			"env":   env, "resources": resources, "securityContext": sc,
			"livenessProbe":          map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
			"readinessProbe":         map[string]any{"httpGet": map[string]any{"path": "/ready", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 5, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
			"volumeMounts":           []any{map[string]any{"name": "tmp", "mountPath": "/tmp"}, map[string]any{"name": "config", "mountPath": "/etc/app", "readOnly": true}},
			"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
		})
	}
	return map[string]any{
		"serviceAccountName": name, "automountServiceAccountToken": false,
		"securityContext": map[string]any{"runAsNonRoot": true, "runAsUser": 10001, "fsGroup": 10001, "seccompProfile": map[string]any{"type": "RuntimeDefault"}},
		"containers":      list,
		"volumes":         []any{map[string]any{"name": "tmp", "emptyDir": map[string]any{}}, map[string]any{"name": "config", "configMap": map[string]any{"name": name + "-config", "defaultMode": 420}}},
		"restartPolicy":   "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
		"enableServiceLinks": false,
		"tolerations":        []any{map[string]any{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}},
	}
}
