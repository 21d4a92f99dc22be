package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// packageJSON is the part of a package.json we read.
type packageJSON struct {
	Name                 string                  `json:"name"`
	Version              string                  `json:"version"`
	Pulumi               plugin.PulumiPluginJSON `json:"pulumi"`
	Dependencies         map[string]string       `json:"dependencies"`
	DevDependencies      map[string]string       `json:"devDependencies"`
	OptionalDependencies map[string]string       `json:"optionalDependencies"`
	PeerDependencies     map[string]string       `json:"peerDependencies"`
}

// installedPackage is one package found while walking the dependency graph.
type installedPackage struct {
	dir   string // real path of the package's directory
	depth int    // 0: the program's own package.json, 1: its direct dependencies, ...
	via   string // the dependency name it was reached by (an npm alias such as docker-classic differs from info.Name)
	info  packageJSON
}

func readPackageJSON(dir string) (packageJSON, error) {
	var p packageJSON
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("parsing %s: %w", filepath.Join(dir, "package.json"), err)
	}
	return p, nil
}

// findProjectPackage returns the directory of the package.json nearest to dir, looking upward the way
// Node does when the program's directory (say infra/ for `main: infra/index.ts`) has none itself.
func findProjectPackage(dir string) (string, bool) {
	for d := dir; ; {
		if fi, err := os.Stat(filepath.Join(d, "package.json")); err == nil && !fi.IsDir() {
			return d, true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		d = parent
	}
}

// resolveInstalled finds the installed copy of dependency `name` as `require` would from a module in
// fromDir: <dir>/node_modules/<name> for fromDir and each parent (skipping node_modules directories
// themselves). It returns the real path, so a symlinked node_modules resolves onward from its target.
func resolveInstalled(fromDir, name string) (string, bool) {
	for d := fromDir; ; {
		if filepath.Base(d) != "node_modules" {
			candidate := filepath.Join(d, "node_modules", filepath.FromSlash(name))
			if fi, err := os.Stat(filepath.Join(candidate, "package.json")); err == nil && !fi.IsDir() {
				if real, err := filepath.EvalSymlinks(candidate); err == nil {
					return real, true
				}
				return candidate, true
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		d = parent
	}
}

// walkDependencies visits the installed packages reachable from the package.json in rootDir,
// breadth first: the root's dependencies, devDependencies and optionalDependencies, then for every
// package found its dependencies, optionalDependencies and peerDependencies. Each installed copy is
// visited once; dependencies that are not installed are skipped (npm leaves out optional ones).
func walkDependencies(rootDir string) ([]installedPackage, error) {
	rootInfo, err := readPackageJSON(rootDir)
	if err != nil {
		return nil, err
	}
	realRoot := rootDir
	if r, err := filepath.EvalSymlinks(rootDir); err == nil {
		realRoot = r
	}

	visited := map[string]bool{realRoot: true}
	result := []installedPackage{{dir: realRoot, depth: 0, info: rootInfo}}
	queue := []installedPackage{result[0]}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]

		names := map[string]bool{}
		add := func(m map[string]string) {
			for n := range m {
				names[n] = true
			}
		}
		add(cur.info.Dependencies)
		add(cur.info.OptionalDependencies)
		if cur.depth == 0 {
			add(cur.info.DevDependencies)
		} else {
			add(cur.info.PeerDependencies)
		}
		sorted := make([]string, 0, len(names))
		for n := range names {
			sorted = append(sorted, n)
		}
		sort.Strings(sorted)

		for _, name := range sorted {
			dir, ok := resolveInstalled(cur.dir, name)
			if !ok {
				logging.V(7).Infof("dependency %s of %s is not installed; skipped", name, cur.dir)
				continue
			}
			if visited[dir] {
				continue
			}
			visited[dir] = true
			info, err := readPackageJSON(dir)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				logging.V(3).Infof("skipping %s: %v", dir, err)
				continue
			}
			pkg := installedPackage{dir: dir, depth: cur.depth + 1, via: name, info: info}
			result = append(result, pkg)
			queue = append(queue, pkg)
		}
	}
	return result, nil
}

// pluginName is the resource plugin a package declares: pulumi.name, else the package name without
// its @pulumi/ scope (other scopes must say pulumi.name).
func pluginName(p packageJSON) (string, error) {
	if p.Pulumi.Name != "" {
		return p.Pulumi.Name, nil
	}
	if strings.HasPrefix(p.Name, "@pulumi/") {
		return strings.TrimPrefix(p.Name, "@pulumi/"), nil
	}
	if p.Name == "" {
		return "", errors.New(`missing "name"`)
	}
	return "", fmt.Errorf(`third-party package %q must name its plugin in "pulumi": {"name": ...}`, p.Name)
}

// pluginVersion is pulumi.version, else the package version, with a leading v.
func pluginVersionOf(p packageJSON) (string, error) {
	v := p.Pulumi.Version
	if v == "" {
		v = p.Version
	}
	if v == "" {
		return "", errors.New(`missing "version"`)
	}
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	return v, nil
}

func toParameterization(p *plugin.PulumiParameterizationJSON) *pulumirpc.PackageParameterization {
	if p == nil {
		return nil
	}
	return &pulumirpc.PackageParameterization{Name: p.Name, Version: p.Version, Value: p.Value}
}

// requiredPackages lists the resource plugins of the packages installed for the program in
// programDir, one per plugin name. When several installed copies declare the same plugin (a nested
// older copy, or an npm alias such as awsx's docker-classic = @pulumi/docker@3.6.1), the one the
// program itself gets from require(<package name>) wins (the hoisted copy); failing that, the one
// nearest to the program's package.json, and between equally near ones a package installed under its
// own name rather than an alias. The others are logged at -v=5.
func requiredPackages(programDir string) ([]*pulumirpc.PackageDependency, error) {
	rootDir, ok := findProjectPackage(programDir)
	if !ok {
		logging.V(5).Infof("no package.json at or above %s: no plugins to report", programDir)
		return nil, nil
	}
	pkgs, err := walkDependencies(rootDir)
	if err != nil {
		return nil, err
	}

	type candidate struct {
		pkg     installedPackage
		version string
	}
	var order []string
	best := map[string]candidate{}
	programsCopy := func(p installedPackage) bool {
		dir, ok := resolveInstalled(rootDir, p.info.Name)
		return ok && dir == p.dir
	}
	better := func(a, b installedPackage) bool { // is a preferable to b?
		if aTop, bTop := programsCopy(a), programsCopy(b); aTop != bTop {
			return aTop
		}
		if a.depth != b.depth {
			return a.depth < b.depth
		}
		aAlias, bAlias := a.via != a.info.Name, b.via != b.info.Name
		return !aAlias && bAlias
	}
	for _, p := range pkgs {
		if p.depth == 0 || !p.info.Pulumi.Resource {
			continue
		}
		name, err := pluginName(p.info)
		if err != nil {
			logging.V(3).Infof("skipping plugin of %s: %v", p.dir, err)
			continue
		}
		version, err := pluginVersionOf(p.info)
		if err != nil {
			logging.V(3).Infof("skipping plugin of %s: %v", p.dir, err)
			continue
		}
		// Parameterized packages share their base plugin's name: tell them apart by what they
		// parameterize it into.
		key := name
		if pz := p.info.Pulumi.Parameterization; pz != nil {
			key += "/" + pz.Name
		}
		if pz := p.info.Pulumi.ExtensionParameterization; pz != nil {
			key += "+" + pz.Name
		}
		prev, dup := best[key]
		switch {
		case !dup:
			order = append(order, key)
			best[key] = candidate{p, version}
		case better(p, prev.pkg):
			logging.V(5).Infof("plugin %s %s of %s not reported: the program uses %s %s of %s",
				name, prev.version, prev.pkg.dir, name, version, p.dir)
			best[key] = candidate{p, version}
		default:
			logging.V(5).Infof("plugin %s %s of %s not reported: the program uses %s %s of %s",
				name, version, p.dir, name, prev.version, prev.pkg.dir)
		}
	}

	out := make([]*pulumirpc.PackageDependency, 0, len(order))
	for _, key := range order {
		c := best[key]
		name, _ := pluginName(c.pkg.info)
		out = append(out, &pulumirpc.PackageDependency{
			Name:             name,
			Kind:             "resource",
			Version:          c.version,
			Server:           c.pkg.info.Pulumi.Server,
			Parameterization: toParameterization(c.pkg.info.Pulumi.Parameterization),
			Extension:        toParameterization(c.pkg.info.Pulumi.ExtensionParameterization),
		})
	}
	return out, nil
}
