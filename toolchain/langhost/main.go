// Command pulumi-language-nodejs is the toolchain's Node.js language host: the plugin the Pulumi CLI
// starts to run a Node.js program or policy pack.
//
// Why the project has its own: Pulumi's host lives in the nested module
// github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3, which the Go module proxy reachable
// here does not serve (403 for every version, pseudo-versions of the pkg/v3 tag's commit included), while
// github.com/pulumi/pulumi/sdk/v3 is served. A language host is a launcher: the engine, the resource
// monitor, the providers and the Node.js SDK (@pulumi/pulumi's cmd/run, which does the registering) are
// all Pulumi's own code. This file implements the launcher contract as Pulumi's host has it at the pinned
// tag (sdk/nodejs/cmd/pulumi-language-nodejs/main.go: constructArguments, constructConfig, RunPlugin), and
// leaves out what this project does not use: bun, debugger attach, code generation, dependency
// installation (npm ci does that), and the synchronous-invoke pipes (`--sync`, which @pulumi/pulumi 3.x
// treats as optional).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	runModule        = "@pulumi/pulumi/cmd/run"
	policyPackModule = "@pulumi/pulumi/cmd/run-policy-pack"
	pluginModule     = "@pulumi/pulumi/cmd/run-plugin"
	// The Node.js runner exits with 32 after it has printed a message meant for the user (an unhandled
	// pulumi.RunError, for one); the engine then shows nothing more (Pulumi's host: "Bail").
	exitAfterUserMessage = 32
)

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	running       map[*exec.Cmd]struct{}
}

func main() {
	showVersion := flag.Bool("version", false, "print the plugin version and exit")
	flag.String("tracing", "", "accepted for compatibility; tracing is not emitted")
	flag.String("runtime", "nodejs", "accepted for compatibility; only nodejs is supported")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}

	h := &host{running: map[*exec.Cmd]struct{}{}}
	if args := flag.Args(); len(args) > 0 {
		h.engineAddress = args[0]
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cancel := make(chan bool)
	go func() { <-ctx.Done(); close(cancel) }()
	if h.engineAddress != "" {
		// Exit when the engine goes away, as every Pulumi plugin does.
		if err := rpcutil.Healthcheck(ctx, h.engineAddress, 5*time.Minute, stop); err != nil {
			fail(fmt.Errorf("could not start the engine health check: %w", err))
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fail(fmt.Errorf("could not start the language host: %w", err))
	}
	// The CLI reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fail(fmt.Errorf("the language host stopped serving: %w", err))
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
	os.Exit(1)
}

func (h *host) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	h.engineAddress = req.GetEngineAddress()
	h.mu.Unlock()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *host) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimSpace(string(out))}, nil
}

// InstallDependencies has nothing to do: `npm ci` installs the program's and the policy pack's packages.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer) error {
	return nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for cmd := range h.running {
		if cmd.Process != nil {
			_ = cmd.Process.Signal(os.Interrupt)
		}
	}
	return &emptypb.Empty{}, nil
}

// packageJSON is the part of a package.json that says which plugin a package needs. Pulumi's host reads
// the same fields (getPackageInfo): `pulumi.resource`, `pulumi.name`, `pulumi.version`, `pulumi.server`.
type packageJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Pulumi  *struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

// GetRequiredPackages lists the resource plugins of the packages installed beside the program: every
// node_modules/<pkg> and node_modules/@scope/<pkg> whose package.json has `pulumi.resource: true`.
func (h *host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	root := filepath.Join(req.GetInfo().GetProgramDirectory(), "node_modules")
	dirs, err := packageDirs(root)
	if err != nil {
		return nil, err
	}
	var packages []*pulumirpc.PackageDependency
	for _, dir := range dirs {
		raw, err := os.ReadFile(filepath.Join(dir, "package.json"))
		if err != nil {
			continue
		}
		var info packageJSON
		if json.Unmarshal(raw, &info) != nil || info.Pulumi == nil || !info.Pulumi.Resource {
			continue
		}
		name := info.Pulumi.Name
		if name == "" {
			name = strings.TrimPrefix(info.Name, "@pulumi/")
		}
		v := info.Pulumi.Version
		if v == "" {
			v = info.Version
		}
		packages = append(packages, &pulumirpc.PackageDependency{
			Kind: "resource", Name: name, Version: "v" + strings.TrimPrefix(v, "v"), Server: info.Pulumi.Server,
		})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

func packageDirs(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, e := range entries {
		path := filepath.Join(root, e.Name())
		if !strings.HasPrefix(e.Name(), "@") {
			dirs = append(dirs, path)
			continue
		}
		scoped, err := os.ReadDir(path)
		if err != nil {
			continue
		}
		for _, s := range scoped {
			dirs = append(dirs, filepath.Join(path, s.Name()))
		}
	}
	return dirs, nil
}

func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dirs, err := packageDirs(filepath.Join(req.GetInfo().GetProgramDirectory(), "node_modules"))
	if err != nil {
		return nil, err
	}
	var deps []*pulumirpc.DependencyInfo
	for _, dir := range dirs {
		var info packageJSON
		if raw, err := os.ReadFile(filepath.Join(dir, "package.json")); err == nil && json.Unmarshal(raw, &info) == nil && info.Name != "" {
			deps = append(deps, &pulumirpc.DependencyInfo{Name: info.Name, Version: info.Version})
		}
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// runtimeOptions are Pulumi.yaml's `runtime.options` that change how node starts.
type runtimeOptions struct {
	typescript bool
	tsconfig   string
	nodeargs   []string
}

func parseOptions(opts map[string]any) (runtimeOptions, error) {
	// Pulumi's host defaults `typescript` to true (parseOptions in its main.go).
	out := runtimeOptions{typescript: true}
	if v, ok := opts["typescript"]; ok {
		b, ok := v.(bool)
		if !ok {
			return out, errors.New("runtime option typescript must be a boolean")
		}
		out.typescript = b
	}
	if v, ok := opts["tsconfig"]; ok {
		s, ok := v.(string)
		if !ok {
			return out, errors.New("runtime option tsconfig must be a string")
		}
		out.tsconfig = s
	}
	if v, ok := opts["nodeargs"]; ok {
		s, ok := v.(string)
		if !ok {
			return out, errors.New("runtime option nodeargs must be a string")
		}
		// Whitespace-separated, as this project writes them; quoting is not supported.
		out.nodeargs = strings.Fields(s)
	}
	return out, nil
}

func (o runtimeOptions) env() []string {
	var env []string
	if o.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if o.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+o.tsconfig)
	}
	return env
}

// locate resolves a module from the program's folder, as Pulumi's host does with `require.resolve`.
func locate(node, module, dir string) (string, error) {
	cmd := exec.Command(node, "-e", fmt.Sprintf("console.log(require.resolve(%q))", module))
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s could not be found from %s (is `npm ci` done?): %w", module, dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "node is not on PATH: " + err.Error()}, nil
	}
	opts, err := parseOptions(info.GetOptions().AsMap())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	runner, err := locate(node, runModule, info.GetProgramDirectory())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	cfg, err := configJSON(req.GetConfig())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	secretKeys, err := json.Marshal(nonNil(req.GetConfigSecretKeys()))
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	h.mu.Lock()
	engine := h.engineAddress
	h.mu.Unlock()
	args := append(append([]string{}, opts.nodeargs...), runArguments(req, runner, engine)...)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Env = append(append(os.Environ(), "PULUMI_CONFIG="+cfg, "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys)), opts.env()...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second

	if err := h.track(cmd); err != nil {
		return &pulumirpc.RunResponse{Error: "could not start node: " + err.Error()}, nil
	}
	err = cmd.Wait()
	h.untrack(cmd)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exit) && exit.ExitCode() == exitAfterUserMessage:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exit):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exit.ExitCode())}, nil
	default:
		return &pulumirpc.RunResponse{Error: "could not run node: " + err.Error()}, nil
	}
}

func (h *host) track(cmd *exec.Cmd) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	h.running[cmd] = struct{}{}
	return nil
}

func (h *host) untrack(cmd *exec.Cmd) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.running, cmd)
}

// runArguments is the runner's command line, flag for flag as Pulumi's host builds it
// (constructArguments): the monitor, the engine, the project and stack, the program folder, `--dry-run`
// for a preview, the parallelism, then the entry point and the program's own arguments.
func runArguments(req *pulumirpc.RunRequest, runner, engine string) []string {
	args := []string{runner}
	add := func(flag, value string) {
		if value != "" {
			args = append(args, "--"+flag, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", engine)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("root-directory", req.GetInfo().GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", req.GetInfo().GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	args = append(args, req.GetInfo().GetEntryPoint())
	return append(args, req.GetArgs()...)
}

// configJSON hands the stack config to the runner with keys in the `<namespace>:config:<name>` form that
// Pulumi's host still uses (constructConfig), which every @pulumi/pulumi 3.x reads.
func configJSON(cfg map[string]string) (string, error) {
	out := make(map[string]string, len(cfg))
	for k, v := range cfg {
		key, err := config.ParseKey(k)
		if err != nil {
			return "", err
		}
		out[key.Namespace()+":config:"+key.Name()] = v
	}
	raw, err := json.Marshal(out)
	return string(raw), err
}

func nonNil(keys []string) []string {
	if keys == nil {
		return []string{}
	}
	return keys
}

// RunPlugin starts a policy pack (kind "analyzer") or another Node.js plugin. For a policy pack the
// runner is @pulumi/pulumi's run-policy-pack with the pack's folder as its last argument and the stack's
// config in its environment, which the engine hands over through the SDK's PolicyProxy, as in Pulumi's
// host.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	info := req.GetInfo()
	node, err := exec.LookPath("node")
	if err != nil {
		return err
	}
	opts, err := parseOptions(info.GetOptions().AsMap())
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	analyzer := req.GetKind() == string(apitype.AnalyzerPlugin)
	module := pluginModule
	if analyzer {
		module = policyPackModule
	}
	runner, err := locate(node, module, info.GetProgramDirectory())
	if err != nil {
		return err
	}
	args := append(append([]string{}, opts.nodeargs...), runner)
	env := append(append([]string{}, req.GetEnv()...), opts.env()...)

	var proxy *sdk.PolicyProxy
	if analyzer {
		args = append(append(args, req.GetArgs()...), info.GetProgramDirectory())
		if proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout); err != nil {
			return fmt.Errorf("could not start the policy pack proxy: %w", err)
		}
		stack, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get the stack configuration: %w", err)
		}
		policyEnv, err := policyPackEnv(stack)
		if err != nil {
			return err
		}
		env = append(env, policyEnv...)
	} else {
		args = append(append(args, info.GetProgramDirectory()), req.GetArgs()...)
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = req.GetPwd()
	if analyzer {
		// Policy packs run in their own folder (Pulumi's host keeps this for compatibility).
		cmd.Dir = info.GetProgramDirectory()
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := h.track(cmd); err != nil {
		return fmt.Errorf("could not start node: %w", err)
	}
	defer h.untrack(cmd)
	if proxy != nil {
		// The proxy waits for the pack's own port and then serves the engine on its behalf.
		return proxy.Attach(ctx, cmd)
	}
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("Program exited with non-zero exit code: %d", exit.ExitCode())
		}
		return err
	}
	return closer.Close()
}

func policyPackEnv(stack *pulumirpc.AnalyzerStackConfigureRequest) ([]string, error) {
	if stack == nil {
		return nil, nil
	}
	var env []string
	add := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	add("PULUMI_NODEJS_ORGANIZATION", stack.GetOrganization())
	add("PULUMI_NODEJS_PROJECT", stack.GetProject())
	add("PULUMI_NODEJS_STACK", stack.GetStack())
	add("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(stack.GetDryRun()))
	if stack.GetConfig() != nil {
		raw, err := json.Marshal(stack.GetConfig())
		if err != nil {
			return nil, err
		}
		add("PULUMI_CONFIG", string(raw))
	}
	return env, nil
}
