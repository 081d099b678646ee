package jsonast

import "github.com/open-policy-agent/opa/v1/ast"

// common are strings that recur in every Kubernetes object (keys and a few
// values): they decode to one shared term instead of a fresh one each time.
// Terms are immutable once built, as OPA's own interned terms are.
var common = func() map[string]*ast.Term {
	m := map[string]*ast.Term{}
	for _, s := range []string{
		"apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations", "uid",
		"resourceVersion", "generation", "creationTimestamp", "generateName", "ownerReferences",
		"managedFields", "spec", "status", "template", "jobTemplate", "selector", "matchLabels",
		"replicas", "containers", "initContainers", "ephemeralContainers", "image", "imagePullPolicy",
		"command", "args", "env", "envFrom", "value", "valueFrom", "secretKeyRef", "configMapKeyRef",
		"fieldRef", "fieldPath", "key", "ports", "containerPort", "hostPort", "protocol", "TCP", "UDP",
		"resources", "limits", "requests", "cpu", "memory", "volumeMounts", "mountPath", "readOnly",
		"subPath", "volumes", "emptyDir", "configMap", "secret", "secretName", "hostPath", "path",
		"type", "persistentVolumeClaim", "claimName", "projected", "sources", "defaultMode",
		"securityContext", "privileged", "allowPrivilegeEscalation", "readOnlyRootFilesystem",
		"runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup", "capabilities", "add", "drop", "ALL",
		"seccompProfile", "RuntimeDefault", "Localhost", "appArmorProfile", "seLinuxOptions",
		"procMount", "sysctls", "windowsOptions", "hostNetwork", "hostPID", "hostIPC", "hostUsers",
		"livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "postStart", "preStop",
		"httpGet", "tcpSocket", "exec", "grpc", "port", "host", "scheme", "initialDelaySeconds",
		"periodSeconds", "timeoutSeconds", "failureThreshold", "successThreshold",
		"terminationMessagePath", "terminationMessagePolicy", "File", "/dev/termination-log",
		"serviceAccountName", "serviceAccount", "automountServiceAccountToken", "nodeSelector",
		"tolerations", "affinity", "restartPolicy", "Always", "OnFailure", "Never", "dnsPolicy",
		"ClusterFirst", "schedulerName", "default-scheduler", "terminationGracePeriodSeconds",
		"strategy", "RollingUpdate", "rollingUpdate", "maxSurge", "maxUnavailable",
		"revisionHistoryLimit", "progressDeadlineSeconds", "IfNotPresent", "Pod", "Deployment",
		"ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "v1", "apps/v1", "batch/v1",
		"app", "true", "false", "operator", "effect", "Exists", "Equal", "NoSchedule", "NoExecute",
		"tolerationSeconds", "priority", "priorityClassName", "enableServiceLinks",
		"preemptionPolicy", "PreemptLowerPriority", "nodeName", "imagePullSecrets", "volumeName",
	} {
		m[s] = ast.StringTerm(s)
	}
	return m
}()

// stringTerm is the term for a decoded string, shared when common.
func stringTerm(b []byte) *ast.Term {
	if t, ok := common[string(b)]; ok {
		return t
	}
	return ast.StringTerm(string(b))
}
