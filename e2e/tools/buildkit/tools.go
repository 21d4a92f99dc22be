//go:build tools

// Package tools pins the BuildKit this wrapper builds: `go build github.com/moby/buildkit/cmd/buildkitd
// github.com/moby/buildkit/cmd/buildctl` from here uses this go.mod. `go install ...@v0.31.1` refuses
// BuildKit (its go.mod has exclude directives); a module that requires it builds it.
package tools

import (
	_ "github.com/moby/buildkit/cmd/buildctl"
	_ "github.com/moby/buildkit/cmd/buildkitd"
)
