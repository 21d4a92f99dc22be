package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/shlex"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	// The Node SDK's entry points, resolved with require.resolve from the program's directory.
	// PULUMI_LANGUAGE_NODEJS_RUN_PATH overrides the program one (as with the real host).
	runModule        = "@pulumi/pulumi/cmd/run"
	runPluginModule  = "@pulumi/pulumi/cmd/run-plugin"
	runPolicyModule  = "@pulumi/pulumi/cmd/run-policy-pack"
	runPathOverride  = "PULUMI_LANGUAGE_NODEJS_RUN_PATH"
	configEnv        = "PULUMI_CONFIG"             // JSON object {"<ns>:config:<name>": "<value>"}
	configSecretsEnv = "PULUMI_CONFIG_SECRET_KEYS" // JSON array of "<ns>:<name>"

	// The exit code @pulumi/pulumi/cmd/run uses when it has already shown the user the error (through
	// the engine's Log): the engine is then told to bail without printing anything more.
	exitAfterLoggedError = 32
)

// host implements pulumirpc.LanguageRuntimeServer. Methods not written here (GenerateProgram,
// GenerateProject, GeneratePackage, Pack, Link) answer Unimplemented, which only `pulumi convert`,
// `pulumi package ...` and `pulumi new` templates need.
type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	rootDir       string // from -root or Handshake; requests carry their own and win
	programDir    string // from Handshake
	tracing       string
	defaults      runtimeFlags

	cancelCtx  context.Context // cancelled by the Cancel RPC, or when we shut down
	cancelFunc context.CancelFunc
	stopServer func() // stops serving (when the engine is gone)
	watchOnce  sync.Once
}

func newHost(engineAddress, root, tracing string, defaults runtimeFlags) *host {
	ctx, cancel := context.WithCancel(context.Background())
	return &host{
		engineAddress: engineAddress,
		rootDir:       root,
		tracing:       tracing,
		defaults:      defaults,
		cancelCtx:     ctx,
		cancelFunc:    cancel,
	}
}

// watchEngine polls the engine's health service; when it stops answering, stop is called.
func (h *host) watchEngine(ctx context.Context, addr string, stop func()) error {
	var err error
	h.watchOnce.Do(func() {
		h.mu.Lock()
		h.stopServer = stop
		h.mu.Unlock()
		err = rpcutil.Healthcheck(ctx, addr, healthInterval, func() {
			logging.V(3).Infof("the engine at %s no longer answers health checks: shutting down", addr)
			stop()
		})
	})
	return err
}

// cancelAll interrupts the node processes still running.
func (h *host) cancelAll() { h.cancelFunc() }

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// programLocation reads the directories and entry point of a request, falling back to the older
// fields for engines that send no ProgramInfo.
func (h *host) programLocation(info *pulumirpc.ProgramInfo, pwd, program string) (root, dir, entry string) {
	root, dir, entry = info.GetRootDirectory(), info.GetProgramDirectory(), info.GetEntryPoint()
	h.mu.Lock()
	defer h.mu.Unlock()
	if dir == "" {
		dir = pwd
	}
	if dir == "" {
		dir = h.programDir
	}
	if dir == "" {
		dir, _ = os.Getwd()
	}
	if root == "" {
		root = h.rootDir
	}
	if root == "" {
		root = dir
	}
	if entry == "" {
		entry = program
	}
	if entry == "" {
		entry = "."
	}
	return root, dir, entry
}

// --- handshake and information ---------------------------------------------------------------

func (h *host) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	if req.RootDirectory != nil {
		h.rootDir = req.GetRootDirectory()
	}
	if req.ProgramDirectory != nil {
		h.programDir = req.GetProgramDirectory()
	}
	addr, stop := h.engineAddress, h.stopServer
	h.mu.Unlock()
	if addr != "" {
		if stop == nil {
			stop = h.cancelAll // attached (PULUMI_DEBUG_LANGUAGES): the debugger owns our lifetime
		}
		if err := h.watchEngine(context.Background(), addr, stop); err != nil {
			return nil, fmt.Errorf("could not watch the engine at %s: %w", addr, err)
		}
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: pluginVersion()}, nil
}

func (h *host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	_, dir, _ := h.programLocation(req.GetInfo(), "", "")
	pkgs, err := requiredPackages(dir)
	if err != nil {
		// Advisory only (the engine loads plugins on demand as well): log, as the real host does.
		logging.V(3).Infof("while looking for the program's plugins: %v", err)
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

// GetRequiredPlugins is the older form of GetRequiredPackages (parameterization cannot be expressed).
func (h *host) GetRequiredPlugins(ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	_, dir, _ := h.programLocation(req.GetInfo(), req.GetPwd(), "") //nolint:staticcheck
	pkgs, err := requiredPackages(dir)
	if err != nil {
		logging.V(3).Infof("while looking for the program's plugins: %v", err)
	}
	plugins := make([]*pulumirpc.PluginDependency, 0, len(pkgs))
	for _, p := range pkgs {
		if p.Parameterization != nil || p.Extension != nil {
			continue
		}
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server, Checksums: p.Checksums,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	_, dir, _ := h.programLocation(req.GetInfo(), "", "")
	opts, err := parseOptions(req.GetInfo().GetOptions(), h.defaults)
	if err != nil {
		return nil, err
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the PATH: %w", err)
	}
	pm := resolvePackageManager(opts.packagemanager, dir)
	meta := map[string]string{"packagemanager": pm}
	if v := commandVersion(ctx, pm); v != "" {
		meta["packagemanagerVersion"] = v
	}
	return &pulumirpc.AboutResponse{
		Executable: nodeBin,
		Version:    commandVersion(ctx, nodeBin),
		Metadata:   meta,
	}, nil
}

// commandVersion is the trimmed output of `<bin> --version`, or "" when that fails.
func commandVersion(ctx context.Context, bin string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// GetProgramDependencies lists the installed packages the program depends on (directly, or all
// reachable ones), as found in node_modules rather than by asking the package manager.
func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	_, dir, _ := h.programLocation(req.GetInfo(), req.GetPwd(), "") //nolint:staticcheck
	rootDir, ok := findProjectPackage(dir)
	if !ok {
		return nil, fmt.Errorf("no package.json found at or above %s", dir)
	}
	pkgs, err := walkDependencies(rootDir)
	if err != nil {
		return nil, fmt.Errorf("failed to read the program's dependencies: %w", err)
	}
	seen := map[string]bool{}
	var deps []*pulumirpc.DependencyInfo
	for _, p := range pkgs {
		if p.depth == 0 || (p.depth > 1 && !req.GetTransitiveDependencies()) {
			continue
		}
		key := p.via + "@" + p.info.Version
		if seen[key] {
			continue
		}
		seen[key] = true
		deps = append(deps, &pulumirpc.DependencyInfo{Name: p.via, Version: p.info.Version})
	}
	sort.Slice(deps, func(i, j int) bool {
		if deps[i].Name != deps[j].Name {
			return deps[i].Name < deps[j].Name
		}
		return deps[i].Version < deps[j].Version
	})
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// InstallDependencies installs nothing: this project installs its packages with npm (npm ci) before
// Pulumi runs. It says so, and warns when the SDK cannot be found from the program.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	_, dir, _ := h.programLocation(req.GetInfo(), req.GetDirectory(), "") //nolint:staticcheck
	fmt.Fprintf(stdout, "pulumi-language-nodejs (e2e): not installing dependencies in %s; "+
		"install them with npm (npm ci) before running pulumi\n", dir)
	if _, ok := resolveInstalled(dir, "@pulumi/pulumi"); !ok {
		fmt.Fprintf(stderr, "warning: @pulumi/pulumi is not installed for %s: run npm install\n", dir)
	}
	return closer.Close()
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) Template(context.Context, *pulumirpc.TemplateRequest) (*pulumirpc.TemplateResponse, error) {
	return &pulumirpc.TemplateResponse{}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancelAll()
	return &emptypb.Empty{}, nil
}

// --- running programs ------------------------------------------------------------------------

// resolveModule finds an installed module's entry file the way the program would require it: with
// node's require.resolve from dir.
func resolveModule(ctx context.Context, nodeBin, dir, module, installHint string) (string, error) {
	const script = `try { console.log(require.resolve(process.argv[1])); } catch (e) {` +
		` console.error(e.code === "MODULE_NOT_FOUND" ? "not found" : e.message); process.exit(1); }`
	cmd := exec.CommandContext(ctx, nodeBin, "-e", script, module)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "not found" || msg == "" {
			return "", fmt.Errorf("could not find %s from %s: it looks like the Pulumi SDK is not installed; %s",
				module, dir, installHint)
		}
		return "", fmt.Errorf("could not resolve %s from %s: %s", module, dir, msg)
	}
	return strings.TrimSpace(string(out)), nil
}

// configJSON renders the stack configuration as @pulumi/pulumi reads it from PULUMI_CONFIG: keys in
// the old "<namespace>:config:<name>" form, which every SDK version understands.
func configJSON(cfg map[string]string) (string, error) {
	m := make(map[string]string, len(cfg))
	for k, v := range cfg {
		key, err := config.ParseKey(k)
		if err != nil {
			return "", fmt.Errorf("config key %q: %w", k, err)
		}
		m[key.Namespace()+":config:"+key.Name()] = v
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func secretKeysJSON(keys []string) (string, error) {
	if keys == nil {
		keys = []string{}
	}
	b, err := json.Marshal(keys)
	return string(b), err
}

// tsEnv is the environment the SDK's entry points read for TypeScript.
func tsEnv(opts nodeOptions) []string {
	var env []string
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	return env
}

// Run runs the program once (preview, update, refresh or destroy with --run-program) with
//
//	node [nodeargs] <@pulumi/pulumi/cmd/run> --monitor <addr> --engine <addr> --organization <org>
//	     --project <p> --root-directory <dir> --stack <s> --pwd <program dir> [--dry-run]
//	     --parallel <n> [--tracing <url>] <entry point> [args...]
//
// with PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS and PULUMI_NODEJS_TYPESCRIPT/_TSCONFIG_PATH set.
// The run entry point registers ts-node itself when PULUMI_NODEJS_TYPESCRIPT=true.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	root, dir, entry := h.programLocation(req.GetInfo(), req.GetPwd(), req.GetProgram()) //nolint:staticcheck
	fail := func(format string, a ...any) (*pulumirpc.RunResponse, error) {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf(format, a...)}, nil
	}
	if req.GetAttachDebugger() {
		return fail("this language host (e2e/tools/language-nodejs) cannot attach a debugger")
	}
	opts, err := parseOptions(req.GetInfo().GetOptions(), h.defaults)
	if err != nil {
		return fail("%v", err)
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fail("could not find node on the PATH: %v", err)
	}
	runPath := os.Getenv(runPathOverride)
	if runPath == "" {
		runPath = runModule
	}
	runPath, err = resolveModule(ctx, nodeBin, dir, runPath, "run npm install (npm ci) in the project")
	if err != nil {
		return fail("%v", err)
	}
	cfg, err := configJSON(req.GetConfig())
	if err != nil {
		return fail("failed to serialize configuration: %v", err)
	}
	secretKeys, err := secretKeysJSON(req.GetConfigSecretKeys())
	if err != nil {
		return fail("failed to serialize configuration secret keys: %v", err)
	}
	nodeArgs, err := shlex.Split(opts.nodeargs)
	if err != nil {
		return fail("the nodejs runtime option 'nodeargs': %v", err)
	}

	args := append(nodeArgs, runPath)
	flagIf := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagIf("monitor", req.GetMonitorAddress())
	flagIf("engine", h.engine())
	flagIf("organization", req.GetOrganization())
	flagIf("project", req.GetProject())
	flagIf("root-directory", root)
	flagIf("stack", req.GetStack())
	flagIf("pwd", dir)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flagIf("parallel", strconv.Itoa(int(req.GetParallel())))
	flagIf("tracing", h.tracing)
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	env := append(os.Environ(), configEnv+"="+cfg, configSecretsEnv+"="+secretKeys)
	env = append(env, tsEnv(opts)...)

	// Stop node when the engine cancels (Cancel RPC) or abandons the request: SIGINT first, then
	// SIGKILL 5 seconds later.
	cmdCtx, cmdCancel := context.WithCancel(h.cancelCtx)
	defer cmdCancel()
	stopAfter := context.AfterFunc(ctx, cmdCancel)
	defer stopAfter()
	cmd := exec.CommandContext(cmdCtx, nodeBin, args...)
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = dir
	cmd.Env = env
	// Through pipes, not our own file descriptors: node may switch its stdio to non-blocking mode,
	// which must not leak to our stdout (the CLI reads it).
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	logging.V(5).Infof("language host running: %s %s", nodeBin, strings.Join(args, " "))

	err = cmd.Run()
	_ = os.Stdout.Sync()
	_ = os.Stderr.Sync()
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		switch code := exitErr.ExitCode(); code {
		case exitAfterLoggedError:
			// The program's error went to the engine's log already: stop without repeating it.
			return &pulumirpc.RunResponse{Bail: true}, nil
		case -1: // killed by a signal
			return fail("Program exited unexpectedly: %v", exitErr)
		default:
			return fail("Program exited with non-zero exit code: %d", code)
		}
	}
	return fail("Problem executing program (could not run language executor): %v", err)
}

// RunPlugin runs a plugin written in Node.js that ships as source (a PulumiPlugin.yaml directory,
// or a policy pack's PulumiPolicy.yaml directory): the CLI streams its output and reads the port it
// prints. Resource plugins run @pulumi/pulumi/cmd/run-plugin <dir> [args]; policy packs run
// @pulumi/pulumi/cmd/run-policy-pack [args] <dir> behind the SDK's policy proxy, which first learns
// the stack's configuration from the engine.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	if req.GetAttachDebugger() {
		return status.Error(codes.Unimplemented, "this language host (e2e/tools/language-nodejs) cannot attach a debugger")
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	_, dir, _ := h.programLocation(req.GetInfo(), "", req.GetProgram()) //nolint:staticcheck
	opts, err := parseOptions(req.GetInfo().GetOptions(), h.defaults)
	if err != nil {
		return err
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the PATH: %w", err)
	}
	analyzer := req.GetKind() == string(apitype.AnalyzerPlugin)
	module := runPolicyModule
	if !analyzer {
		if module = os.Getenv(runPathOverride); module == "" {
			module = runPluginModule
		}
	}
	runPath, err := resolveModule(ctx, nodeBin, dir, module, "run npm install in "+dir)
	if err != nil {
		return err
	}
	nodeArgs, err := shlex.Split(opts.nodeargs)
	if err != nil {
		return fmt.Errorf("the nodejs runtime option 'nodeargs': %w", err)
	}
	args := append(nodeArgs, runPath)
	if analyzer {
		args = append(append(args, req.GetArgs()...), dir)
	} else {
		args = append(append(args, dir), req.GetArgs()...)
	}
	// The CLI sends the whole environment the plugin should see (its own plus PULUMI_* additions).
	base := req.GetEnv()
	if len(base) == 0 {
		base = os.Environ()
	}
	env := append(append([]string{}, base...), tsEnv(opts)...)

	var proxy *sdk.PolicyProxy
	if analyzer {
		// The engine talks to the proxy first (its port goes out on stdout now); once it has sent the
		// stack configuration we start the pack with it, and the proxy forwards to the pack.
		proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("could not start the policy pack proxy: %w", err)
		}
		stack, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get the stack configuration for the policy pack: %w", err)
		}
		if stack != nil {
			set := func(k, v string) {
				if v != "" {
					env = append(env, k+"="+v)
				}
			}
			set("PULUMI_NODEJS_ORGANIZATION", stack.GetOrganization())
			set("PULUMI_NODEJS_PROJECT", stack.GetProject())
			set("PULUMI_NODEJS_STACK", stack.GetStack())
			set("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(stack.GetDryRun()))
			if stack.GetConfig() != nil {
				b, err := json.Marshal(stack.GetConfig())
				if err != nil {
					return fmt.Errorf("could not serialize the stack configuration: %w", err)
				}
				set(configEnv, string(b))
			}
		}
	}

	cmd := exec.CommandContext(ctx, nodeBin, args...)
	if analyzer {
		cmd.Dir = dir // policy packs always ran in their own directory
	} else {
		cmd.Dir = req.GetPwd()
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	logging.V(5).Infof("language host running plugin: %s %s", nodeBin, strings.Join(args, " "))

	run := func() error {
		if err := cmd.Start(); err != nil {
			return err
		}
		if proxy != nil {
			return proxy.Attach(ctx, cmd) // waits for the pack
		}
		return cmd.Wait()
	}
	if err := run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if code := exitErr.ExitCode(); code >= 0 {
				return fmt.Errorf("Program exited with non-zero exit code: %d", code) //nolint:staticcheck
			}
			return fmt.Errorf("Program exited unexpectedly: %w", exitErr) //nolint:staticcheck
		}
		return fmt.Errorf("Problem executing plugin program (could not run language executor): %w", err) //nolint:staticcheck
	}
	return closer.Close()
}
