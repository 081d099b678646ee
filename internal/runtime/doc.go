// Package runtime is Bulwark's run-time detection engine: it loads the
// rules (built-in, embedded from ./rules, and the user's directories), named
// lists and exceptions; compiles every CEL expression once; sends each
// event only to the rules its source, kind, action and resource can match;
// keeps the small, bounded per-key state of correlated rules; and emits one
// model.Alert per firing for internal/alert to aggregate. RunTests runs the
// rules' own test cases. docs/runtime.md is the rule format.
package runtime
