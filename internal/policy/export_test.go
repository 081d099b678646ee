package policy

import "github.com/open-policy-agent/opa/v1/ast"

// PSSFactsModule exports pssFactsModule to the policy_test package.
var PSSFactsModule = pssFactsModule

// PSSFacts returns input.pss at version v, as a Go value.
func PSSFacts(v PSSVersion) any {
	t := builtinPSS
	x, _ := ast.JSON(t.facts[t.resolve(v)].Value)
	return x
}

// PSSFactsTerm returns input.pss at version v as the engine gives it (its
// lists are sets).
func PSSFactsTerm(v PSSVersion) *ast.Term {
	return builtinPSS.facts[builtinPSS.resolve(v)]
}
