// Package clusterscan evaluates every workload of a live Kubernetes cluster
// with the policy engine (`bulwark audit k8s`): it lists each kind page by
// page through a Lister, leaves out objects whose controller is itself
// listed (their template is evaluated on the controller), evaluates the rest
// and returns one result per object with its resource identity.
//
// The Lister seam has two implementations: the client-go dynamic client
// (Connect, for a real cluster) and any slice of decoded objects (tests feed
// manifests loaded by internal/k8smanifest).
package clusterscan
