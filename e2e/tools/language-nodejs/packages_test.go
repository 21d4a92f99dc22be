package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
)

func writePackage(t *testing.T, dir string, pkg map[string]any) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(pkg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func resource(name, version string) map[string]any {
	return map[string]any{"resource": true, "name": name, "version": version}
}

func TestRequiredPackages(t *testing.T) {
	// The installed packages live in store/ and are reached through a symlinked node_modules, as in
	// a scratch project that links the repository's node_modules.
	tmp := t.TempDir()
	nm := filepath.Join(tmp, "store", "node_modules")
	project := filepath.Join(tmp, "project")
	writePackage(t, project, map[string]any{
		"name":            "project",
		"dependencies":    map[string]string{"@pulumi/b": "^2", "@pulumi/pulumi": "^3", "@acme/x": "^1", "missing": "^1"},
		"devDependencies": map[string]string{"@pulumi/dev": "^1"},
	})
	if err := os.Symlink(nm, filepath.Join(project, "node_modules")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(project, "src"), 0o755); err != nil { // main: src/index.ts
		t.Fatal(err)
	}
	writePackage(t, filepath.Join(nm, "@pulumi", "pulumi"), map[string]any{"name": "@pulumi/pulumi", "version": "3.270.0"})
	writePackage(t, filepath.Join(nm, "@pulumi", "b"), map[string]any{
		"name": "@pulumi/b", "version": "2.0.0", "pulumi": map[string]any{"resource": true},
		"dependencies": map[string]string{"@pulumi/a": "^0.9", "a-classic": "npm:@pulumi/a@0.5.0", "@pulumi/c": "^1"},
	})
	// b's own older copy of a, and an alias of an even older one.
	writePackage(t, filepath.Join(nm, "@pulumi", "b", "node_modules", "@pulumi", "a"),
		map[string]any{"name": "@pulumi/a", "version": "0.9.0", "pulumi": resource("a", "0.9.0")})
	writePackage(t, filepath.Join(nm, "a-classic"),
		map[string]any{"name": "@pulumi/a", "version": "0.5.0", "pulumi": resource("a", "0.5.0")})
	// c is hoisted and depends on a: the hoisted a is the one the program would see too.
	writePackage(t, filepath.Join(nm, "@pulumi", "c"), map[string]any{
		"name": "@pulumi/c", "version": "1.0.0", "pulumi": map[string]any{"resource": true, "version": "1.0.1"},
		"dependencies": map[string]string{"@pulumi/a": "^1"},
	})
	writePackage(t, filepath.Join(nm, "@pulumi", "a"),
		map[string]any{"name": "@pulumi/a", "version": "1.0.0", "pulumi": resource("a", "1.0.0")})
	writePackage(t, filepath.Join(nm, "@acme", "x"), map[string]any{
		"name": "@acme/x", "version": "1.2.3",
		"pulumi": map[string]any{"resource": true, "name": "x", "server": "https://example.com/x"},
	})
	writePackage(t, filepath.Join(nm, "@acme", "nameless"), map[string]any{ // not reachable, and invalid anyway
		"name": "@acme/nameless", "version": "1.0.0", "pulumi": map[string]any{"resource": true},
	})
	writePackage(t, filepath.Join(nm, "@pulumi", "dev"),
		map[string]any{"name": "@pulumi/dev", "version": "1.0.0", "pulumi": map[string]any{"resource": true}})
	writePackage(t, filepath.Join(nm, "@pulumi", "unused"), // installed but not a dependency
		map[string]any{"name": "@pulumi/unused", "version": "1.0.0", "pulumi": map[string]any{"resource": true}})

	got, err := requiredPackages(filepath.Join(project, "src"))
	if err != nil {
		t.Fatal(err)
	}
	type plug struct{ name, version, server string }
	var names []plug
	for _, p := range got {
		if p.Kind != "resource" {
			t.Errorf("%s: kind %q", p.Name, p.Kind)
		}
		names = append(names, plug{p.Name, p.Version, p.Server})
	}
	want := []plug{
		{"x", "v1.2.3", "https://example.com/x"},
		{"b", "v2.0.0", ""},
		{"dev", "v1.0.0", ""},
		{"a", "v1.0.0", ""},
		{"c", "v1.0.1", ""},
	}
	if len(names) != len(want) {
		t.Fatalf("got %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("got %v, want %v", names, want)
			break
		}
	}
}

func TestRequiredPackagesWithoutPackageJSON(t *testing.T) {
	got, err := requiredPackages(t.TempDir())
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestConfigJSON(t *testing.T) {
	s, err := configJSON(map[string]string{"proj:greeting": "hi", "aws:region": "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	if m["proj:config:greeting"] != "hi" || m["aws:config:region"] != "eu-west-1" || len(m) != 2 {
		t.Fatalf("got %s", s)
	}
	if s, _ := secretKeysJSON(nil); s != "[]" {
		t.Fatalf("secret keys of nil: %s", s)
	}
}

func TestParseOptions(t *testing.T) {
	defaults := runtimeFlags{typescript: true}
	o, err := parseOptions(nil, defaults)
	if err != nil || !o.typescript || o.packagemanager != "auto" || o.tsconfig != "" {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	s, _ := structpb.NewStruct(map[string]any{
		"typescript": false, "tsconfig": "tsconfig.pulumi.json", "nodeargs": "--max-old-space-size=64", "packagemanager": "pnpm",
	})
	o, err = parseOptions(s, defaults)
	if err != nil || o.typescript || o.tsconfig != "tsconfig.pulumi.json" || o.nodeargs != "--max-old-space-size=64" ||
		o.packagemanager != "pnpm" {
		t.Fatalf("options: %+v %v", o, err)
	}
	for _, bad := range []map[string]any{{"typescript": "yes"}, {"packagemanager": "deno"}, {"nodeargs": 1.0}} {
		s, _ := structpb.NewStruct(bad)
		if _, err := parseOptions(s, defaults); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
