package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/types/known/structpb"
)

// runtimeFlags holds the command-line defaults for the runtime options (older CLIs passed them as
// flags).
type runtimeFlags struct {
	typescript     bool
	tsconfig       string
	nodeargs       string
	packagemanager string
}

// nodeOptions are the `runtime.options` of Pulumi.yaml that matter to a Node.js program:
//
//	runtime:
//	  name: nodejs
//	  options:
//	    typescript: true          # run .ts through ts-node (the SDK's run does it); default true
//	    tsconfig: tsconfig.x.json # PULUMI_NODEJS_TSCONFIG_PATH
//	    nodeargs: "--max-old-space-size=4096"
//	    packagemanager: npm       # auto, npm, yarn, pnpm or bun
type nodeOptions struct {
	typescript     bool
	tsconfig       string
	nodeargs       string
	packagemanager string
}

var packageManagers = map[string]bool{"auto": true, "npm": true, "yarn": true, "pnpm": true, "bun": true}

func parseOptions(opts *structpb.Struct, defaults runtimeFlags) (nodeOptions, error) {
	out := nodeOptions{
		typescript:     defaults.typescript,
		tsconfig:       defaults.tsconfig,
		nodeargs:       defaults.nodeargs,
		packagemanager: defaults.packagemanager,
	}
	if out.packagemanager == "" {
		out.packagemanager = "auto"
	}
	m := opts.AsMap() // nil-safe: an empty map
	if v, ok := m["typescript"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return out, errors.New("the nodejs runtime option 'typescript' must be a boolean")
		}
		out.typescript = b
	}
	if v, ok := m["tsconfig"]; ok {
		s, isString := v.(string)
		if !isString {
			return out, errors.New("the nodejs runtime option 'tsconfig' must be a string")
		}
		out.tsconfig = s
	}
	if v, ok := m["nodeargs"]; ok {
		s, isString := v.(string)
		if !isString {
			return out, errors.New("the nodejs runtime option 'nodeargs' must be a string")
		}
		out.nodeargs = s
	}
	if v, ok := m["packagemanager"]; ok {
		s, isString := v.(string)
		if !isString {
			return out, errors.New("the nodejs runtime option 'packagemanager' must be a string")
		}
		out.packagemanager = s
	}
	if !packageManagers[out.packagemanager] {
		return out, fmt.Errorf("the nodejs runtime option 'packagemanager' must be one of auto, npm, yarn, pnpm or bun, got %q",
			out.packagemanager)
	}
	return out, nil
}

// resolvePackageManager turns "auto" into the package manager whose lock file is nearest to dir
// (npm when there is none), as the real host does.
func resolvePackageManager(choice, dir string) string {
	if choice != "auto" && choice != "" {
		return choice
	}
	locks := []struct{ file, pm string }{
		{"package-lock.json", "npm"},
		{"yarn.lock", "yarn"},
		{"pnpm-lock.yaml", "pnpm"},
		{"bun.lock", "bun"},
		{"bun.lockb", "bun"},
	}
	for d := dir; d != ""; {
		for _, l := range locks {
			if _, err := os.Stat(filepath.Join(d, l.file)); err == nil {
				return l.pm
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return "npm"
}
