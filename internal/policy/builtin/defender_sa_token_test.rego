package bulwark.policies.sa_token_test

import data.bulwark.policies.sa_token

test_unset_denied if {
	v := sa_token.violation with input as {"pod": {"path": "spec.template.spec", "spec": {}}}
	v == {{"msg": "the pod spec does not set automountServiceAccountToken: false", "path": "spec.template.spec.automountServiceAccountToken"}}
}

test_true_denied if {
	count(sa_token.violation) == 1 with input as {"pod": {"path": "spec", "spec": {"automountServiceAccountToken": true}}}
}

test_false_allowed if {
	count(sa_token.violation) == 0 with input as {"pod": {"path": "spec", "spec": {"automountServiceAccountToken": false}}}
}

test_non_workload_allowed if {
	count(sa_token.violation) == 0 with input as {"kind": "Service", "pod": null}
}
