//go:build tools

// Package tools pins the Pulumi CLI this wrapper builds: `go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi`
// from here uses this go.mod, which repeats the replace directives that pkg/v3's own go.mod declares
// (a dependency's replaces are ignored by its consumers).
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
