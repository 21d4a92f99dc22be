// pulumi-language-nodejs: a small Node.js language host for the Pulumi CLI.
//
// Why ours: the Go module proxy this project builds from refuses
// github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 at every version, while it serves
// github.com/pulumi/pulumi/sdk/v3 (the gRPC protocol, rpcutil, plugin helpers). This program speaks
// the LanguageRuntime protocol of sdk/v3 and runs programs through the Node SDK's own entry point
// (@pulumi/pulumi/cmd/run), which compiles TypeScript itself (ts-node) when told to.
//
// How the CLI starts it (pkg/v3 resource/plugin: NewLanguageRuntime, ExecPlugin):
//
//	pulumi-language-nodejs [--logtostderr] [-v=N] [--tracing <endpoint>] <engine address>
//
// in the program's directory; it reads one line from our stdout, the port we serve gRPC on, and
// forwards everything we (and the node processes we start) print later to its diagnostics. The
// engine address is the last positional argument; hosts attached through PULUMI_DEBUG_LANGUAGES get
// it through Handshake instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// fallbackVersion is reported when the build carries no module information (go run of a file list).
const fallbackVersion = "3.274.1"

// version may be set with -ldflags "-X main.version=..."; otherwise it is the version of the
// github.com/pulumi/pulumi/sdk/v3 module we were built against, which is the protocol we speak.
var version = ""

func pluginVersion() string {
	if version != "" {
		return strings.TrimPrefix(version, "v")
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/pulumi/pulumi/sdk/v3" && dep.Version != "" && dep.Version != "(devel)" {
				return strings.TrimPrefix(dep.Version, "v")
			}
		}
	}
	return fallbackVersion
}

func main() {
	// -v and -logtostderr are registered on the default flag set by the sdk's logging package (glog
	// compatible); the CLI passes them when run with --logflow.
	tracing := flag.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	runtimeName := flag.String("runtime", "nodejs", "The JavaScript runtime to run programs with (only nodejs)")
	showVersion := flag.Bool("version", false, "Print the plugin version and exit")
	// Older CLIs passed the project root and the runtime options as flags; Pulumi.yaml options sent in
	// ProgramInfo.options win over these.
	root := flag.String("root", "", "Project root (deprecated; the CLI now sends it in each request)")
	defaults := runtimeFlags{}
	flag.BoolVar(&defaults.typescript, "typescript", true, "Default for the typescript runtime option")
	flag.StringVar(&defaults.tsconfig, "tsconfig", "", "Default for the tsconfig runtime option")
	flag.StringVar(&defaults.nodeargs, "nodeargs", "", "Default for the nodeargs runtime option")
	flag.StringVar(&defaults.packagemanager, "packagemanager", "", "Default for the packagemanager runtime option")
	flag.Parse()

	if *showVersion {
		fmt.Println(pluginVersion())
		return
	}

	logging.InitLogging(false, 0, false)
	if endpoint := os.Getenv("PULUMI_OTEL_EXPORTER_OTLP_ENDPOINT"); endpoint != "" {
		if err := cmdutil.InitOtelTracing("pulumi-language-nodejs", endpoint); err != nil {
			logging.V(3).Infof("could not start OpenTelemetry tracing: %v", err)
		}
		defer cmdutil.CloseOtelTracing()
	} else if *tracing != "" {
		cmdutil.InitTracing("pulumi-language-nodejs", "pulumi-language-nodejs", *tracing)
	}

	if *runtimeName != "nodejs" {
		cmdutil.Exit(fmt.Errorf("unsupported runtime %q: this language host runs programs with node only", *runtimeName))
	}

	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	// Stop serving on SIGINT/SIGTERM, or when the engine stops answering health checks (it went away
	// without killing us).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	host := newHost(engineAddress, *root, *tracing, defaults)
	if engineAddress != "" {
		if err := host.watchEngine(ctx, engineAddress, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not watch the engine at %s: %w", engineAddress, err))
		}
	}
	cancel := make(chan bool)
	go func() {
		<-ctx.Done()
		host.cancelAll() // interrupt programs still running
		close(cancel)
	}()

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.TracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start the language host's gRPC server: %w", err))
	}

	// The CLI waits for exactly this line: the port, then a newline.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host stopped serving: %w", err))
	}
}

// healthInterval is how often we ask the engine whether it is still there (the real host: 5 minutes).
const healthInterval = 5 * time.Minute
