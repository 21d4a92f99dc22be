/**
 * The docs held to the code: each stack's config table against `Pulumi.yaml` and the keys its
 * program reads, the worker's settings table against the variables it reads, every command of
 * the docs against the scripts, files, config keys and stack names it names, and every relative
 * link. A failure names the file and what to fix.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadAnywhereConfig } from "../anywhere/config";
import { ConfigError } from "../config";
import { stackKind, type StackKind } from "../stack-kind";
import { DEFAULTS, ENVIRONMENT_VARIABLES, parseWorkerEnvironment, type WorkerOptions } from "../../worker/src/options";
import { awsAccessKeys, EXAMPLE_ORGANIZATION, programConfig, projectFile } from "./support/config-keys";
import { exampleConfig, readerOf, REPOSITORY_ROOT as ROOT } from "./support/example-config";
import { TEST_SSH_KEY } from "./support/mocks";
import { shellBlock } from "../../e2e/lib/checks";

/** The documents a user reads, and the folder their relative paths start from. */
const DOCUMENTS: ReadonlyMap<string, string> = new Map([
    ["README.md", "."],
    ...fs
        .readdirSync(path.join(ROOT, "docs"))
        .filter((name) => name.endsWith(".md"))
        .map((name) => [`docs/${name}`, "."] as const),
    // hosts/README.md's commands run from hosts/ ("bash bootstrap/preflight.sh").
    ["hosts/README.md", "hosts"],
    ["hosts/raspberry-pi.md", "."],
]);

/** Where each stack's config table is. */
const CONFIG_TABLES: Readonly<Record<StackKind, string>> = { region: "docs/deploy-region.md", anywhere: "docs/hosts.md" };

function read(file: string): string {
    return fs.readFileSync(path.join(ROOT, file), "utf8");
}

/** The text outside fenced code blocks (fences' lines blanked, so line numbers keep). */
function prose(text: string): string {
    return text.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, (block) => block.replace(/[^\n]/g, ""));
}

/** The cells of a Markdown table row (`| a | b |`), trimmed. */
function cells(row: string): string[] {
    return row
        .trim()
        .replace(/^\||\|$/g, "")
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim());
}

interface ConfigRow {
    readonly key: string;
    readonly type: string;
    readonly default: string;
    readonly meaning: string;
}

/** The first table under `## Config keys` in `file`, by key (`cpu`, `aws:region`). */
function configTable(file: string): Map<string, ConfigRow> {
    const text = read(file);
    const at = text.indexOf("\n## Config keys\n");
    assert.ok(at >= 0, `${file} has no "## Config keys" section`);
    const lines = text.slice(at).split("\n");
    const start = lines.findIndex((line) => line.startsWith("|"));
    const header = cells(lines[start]);
    assert.deepEqual(header, ["key", "type", "default", "meaning"], `${file}: the config table's columns`);
    const rows = new Map<string, ConfigRow>();
    for (const line of lines.slice(start + 2)) {
        if (!line.startsWith("|")) break;
        const [key, type, fallback, meaning] = cells(line);
        const name = key.replace(/^`|`$/g, "");
        assert.ok(!rows.has(name), `${file}: \`${name}\` has two rows`);
        rows.set(name, { key: name, type, default: fallback, meaning });
    }
    return rows;
}

/** A default cell that opens with a code span (`` `5` (at most ...) ``) states a value; other cells describe one. */
function literalDefault(cell: string): string | undefined {
    return /^`([^`]+)`/.exec(cell)?.[1];
}

/** A full key as its table names it: `ecs-anywhere:cpu` as `cpu`, `aws:region` as it is. */
function tableName(fullKey: string): string {
    return fullKey.startsWith("ecs-anywhere:") ? fullKey.slice("ecs-anywhere:".length) : fullKey;
}

/** The keys each program's loader reads (it runs once per file), and the aws:* ones of the hosts' deregistration. */
const PROGRAMS = { region: programConfig("region"), anywhere: programConfig("anywhere") };
const AWS_ACCESS_KEYS = awsAccessKeys();

describe("docs: the config tables", () => {
    const project = projectFile();
    const tables = { region: configTable(CONFIG_TABLES.region), anywhere: configTable(CONFIG_TABLES.anywhere) };
    const readBy = (key: string) => (["region", "anywhere"] as const).filter((kind) => [...PROGRAMS[kind].keys].some((full) => tableName(full) === key));

    for (const kind of ["region", "anywhere"] as const) {
        it(`${CONFIG_TABLES[kind]} has a row for every key the ${kind} program reads, and no other`, () => {
            const expected = new Set([...PROGRAMS[kind].keys].map(tableName));
            // The aws provider reads it: the cluster and the activation are made in that region.
            if (kind === "anywhere") expected.add("aws:region");
            const rows = [...tables[kind].keys()];
            assert.deepEqual([...expected].filter((key) => !tables[kind].has(key)), [], `${CONFIG_TABLES[kind]}: keys the ${kind} program reads without a row`);
            assert.deepEqual(rows.filter((key) => !expected.has(key)), [], `${CONFIG_TABLES[kind]}: rows for keys the ${kind} program does not read`);
        });
    }

    it("gives every key Pulumi.yaml declares its type and default in the table of each stack that reads it", () => {
        for (const [key, declaration] of Object.entries(project.declared)) {
            const kinds = readBy(key);
            assert.ok(kinds.length > 0, `Pulumi.yaml declares ${key}, which neither program reads`);
            for (const kind of kinds) {
                const row = tables[kind].get(key);
                assert.ok(row, `${CONFIG_TABLES[kind]}: no row for ${key}, declared in Pulumi.yaml`);
                assert.equal(row.type, declaration.type, `${CONFIG_TABLES[kind]}: ${key}'s type is not Pulumi.yaml's`);
                assert.equal(literalDefault(row.default), String(declaration.default), `${CONFIG_TABLES[kind]}: ${key}'s default is not Pulumi.yaml's (write it as \`${String(declaration.default)}\`)`);
            }
        }
    });

    it("gives every optional key Pulumi.yaml's comments document its type in the table of each stack that reads it", () => {
        for (const [key, type] of project.documented) {
            const kinds = readBy(key);
            assert.ok(kinds.length > 0, `Pulumi.yaml documents ${key}, which neither program reads`);
            for (const kind of kinds) {
                const row = tables[kind].get(key);
                assert.ok(row, `${CONFIG_TABLES[kind]}: no row for ${key}, documented in Pulumi.yaml`);
                assert.equal(row.type, type, `${CONFIG_TABLES[kind]}: ${key}'s type is not the one Pulumi.yaml's comment gives`);
            }
        }
    });

    it("states as a default only what the program uses when the key is unset", () => {
        for (const kind of ["region", "anywhere"] as const) {
            const loaded = PROGRAMS[kind].loaded as unknown as Record<string, unknown>;
            for (const row of tables[kind].values()) {
                const stated = literalDefault(row.default);
                if (stated === undefined || row.key.includes(":")) continue;
                assert.notEqual(loaded[row.key], undefined, `${CONFIG_TABLES[kind]}: ${row.key} states the default \`${stated}\` but the ${kind} program leaves it unset`);
                // The table writes the organization of the default region stack as <org>.
                const used = String(loaded[row.key]).replace(`${EXAMPLE_ORGANIZATION}/`, "<org>/");
                assert.equal(stated, used, `${CONFIG_TABLES[kind]}: ${row.key}'s default`);
            }
        }
    });

    it("names every field a host entry and the bastion accept", () => {
        const acceptedFields = (key: "hosts" | "bastion"): string[] => {
            const base: Record<string, unknown> = { ...exampleConfig("anywhere"), "ecs-anywhere:sshPrivateKey": TEST_SSH_KEY };
            const host = (base["ecs-anywhere:hosts"] as Record<string, unknown>[])[0];
            const config = key === "hosts" ? { ...base, "ecs-anywhere:hosts": [{ ...host, notAField: 1 }] } : { ...base, "ecs-anywhere:bastion": { address: "198.51.100.5", user: "jump", hostKey: host.hostKey, notAField: 1 } };
            try {
                loadAnywhereConfig(readerOf(config), { organization: EXAMPLE_ORGANIZATION, project: "ecs-anywhere" });
            } catch (error) {
                const fields = error instanceof ConfigError ? /the fields are (.+)$/.exec(error.message)?.[1] : undefined;
                if (fields) return fields.split(", ");
                throw error;
            }
            assert.fail(`an unknown field in ${key} was accepted`);
        };
        for (const key of ["hosts", "bastion"] as const) {
            const row = tables.anywhere.get(key);
            assert.ok(row, `${CONFIG_TABLES.anywhere}: no row for ${key}`);
            const missing = acceptedFields(key).filter((field) => !new RegExp(`\\b${field}\\b`).test(row.meaning));
            assert.deepEqual(missing, [], `${CONFIG_TABLES.anywhere}: ${key}'s row does not name these fields`);
        }
    });

    it("names every aws:* setting the hosts' deregistration at destroy honours", () => {
        const text = read(CONFIG_TABLES.anywhere);
        assert.deepEqual([...AWS_ACCESS_KEYS].filter((key) => !text.includes(`\`${key}\``)), [], `${CONFIG_TABLES.anywhere} does not name these settings`);
    });
});

describe("docs: the worker's settings table", () => {
    /** Each variable's field in the worker's options. */
    const FIELDS: Partial<Record<(typeof ENVIRONMENT_VARIABLES)[number], keyof WorkerOptions & keyof typeof DEFAULTS>> = {
        SOURCE_DIR: "sourceDir",
        DESTINATION_DIR: "destinationDir",
        PROCESSED_SUFFIX: "processedSuffix",
        LOG_FILE_NAMES: "logFileNames",
        RECEIVE_LOOPS: "receiveLoops",
        RECEIVE_BATCH_SIZE: "batchSize",
        RECEIVE_WAIT_SECONDS: "waitTimeSeconds",
        VISIBILITY_TIMEOUT_SECONDS: "visibilityTimeoutSeconds",
        CREATE_FOLDERS: "createFolders",
    };
    const rows = read("docs/worker.md")
        .split("\n")
        .filter((line) => /^\| `[A-Z_]+`/.test(line))
        .map(cells);

    it("names every variable the worker reads, with the default it uses", () => {
        const used = parseWorkerEnvironment({ SQS_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/queue" });
        for (const variable of ENVIRONMENT_VARIABLES) {
            const row = rows.find((cellsOfRow) => cellsOfRow[0].includes(`\`${variable}\``));
            assert.ok(row, `docs/worker.md: no row names ${variable}`);
            const field = FIELDS[variable];
            if (field === undefined) continue;
            assert.equal(used[field], DEFAULTS[field], `${variable}: the worker's default is not DEFAULTS.${field}`);
            assert.match(row[2], new RegExp(`^\`?${String(used[field]).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\`?(\\s|$)`), `docs/worker.md: ${variable}'s default is not ${String(used[field])}`);
        }
    });
});

/** A command line split into words, quotes removed, nothing expanded. */
function words(command: string): string[] {
    const result: string[] = [];
    let word: string | undefined;
    let quote: string | undefined;
    for (let i = 0; i < command.length; i++) {
        const c = command[i];
        if (quote !== undefined) {
            if (c === quote) quote = undefined;
            else if (c === "\\" && quote === '"' && i + 1 < command.length) word += command[++i];
            else word += c;
        } else if (c === "'" || c === '"') {
            quote = c;
            word ??= "";
        } else if (/\s/.test(c)) {
            if (word !== undefined) result.push(word);
            word = undefined;
        } else {
            word = (word ?? "") + (c === "\\" && i + 1 < command.length ? command[++i] : c);
        }
    }
    if (word !== undefined) result.push(word);
    return result;
}

/**
 * The simple commands of a line: each `$(...)` on its own, the rest split at unquoted `&&`, `||`,
 * `|` and `;`, up to an unquoted `#` comment.
 */
function simpleCommands(line: string): string[] {
    const inner: string[] = [];
    let text = line;
    for (let m = /\$\(([^()]*)\)/.exec(text); m !== null; m = /\$\(([^()]*)\)/.exec(text)) {
        inner.push(m[1]);
        text = text.slice(0, m.index) + "SUBSTITUTED" + text.slice(m.index + m[0].length);
    }
    const parts: string[] = [];
    let current = "";
    let quote: string | undefined;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (c === "\\" && quote !== "'") {
            current += c + (text[i + 1] ?? "");
            i++;
        } else if (quote !== undefined) {
            if (c === quote) quote = undefined;
            current += c;
        } else if (c === "'" || c === '"') {
            quote = c;
            current += c;
        } else if (c === "#" && (current === "" || /\s$/.test(current))) {
            break;
        } else if (c === ";" || c === "|" || (c === "&" && text[i + 1] === "&")) {
            if (text[i + 1] === c) i++;
            parts.push(current);
            current = "";
        } else {
            current += c;
        }
    }
    parts.push(current);
    return [...inner.flatMap(simpleCommands), ...parts].map((part) => part.trim()).filter((part) => part !== "");
}

/** A value a reader fills in (`<that URN>`, `$QUEUE`): nothing to check. */
function placeholder(word: string): boolean {
    return /[<$]/.test(word);
}

interface CommandContext {
    readonly scripts: Readonly<Record<string, string>>;
    /** `ecs-anywhere:*` and `aws:*` keys a program reads. */
    readonly configKeys: ReadonlySet<string>;
    /** What `bash e2e/sandbox.sh hosts <sub>` accepts. */
    readonly hostsSubcommands: readonly string[];
}

/** What is wrong with one `pulumi ...` command's words (after `pulumi`), or nothing. */
function pulumiProblems(args: readonly string[], context: CommandContext): string[] {
    const problems: string[] = [];
    for (const [i, arg] of args.entries()) {
        if ((arg === "-s" || arg === "--stack") && args[i + 1] !== undefined && !placeholder(args[i + 1])) {
            try {
                stackKind(args[i + 1]);
            } catch {
                problems.push(`-s ${args[i + 1]}: neither a region nor an anywhere stack name (infra/stack-kind.ts)`);
            }
        }
    }
    // The operands: words that are neither flags nor the values of -s/--stack.
    const operands = args.filter((arg, i) => !arg.startsWith("-") && args[i - 1] !== "-s" && args[i - 1] !== "--stack");
    if (operands[0] === "stack" && operands[1] === "init" && operands[2] !== undefined && !placeholder(operands[2])) {
        try {
            stackKind(operands[2]);
        } catch {
            problems.push(`stack init ${operands[2]}: neither a region nor an anywhere stack name (infra/stack-kind.ts)`);
        }
    }
    if (operands[0] === "config" && ["set", "rm", "get"].includes(operands[1]) && operands[2] !== undefined && !placeholder(operands[2])) {
        // `ecs-anywhere:hosts[0].hostKey` (with --path) sets a part of `ecs-anywhere:hosts`.
        const key = operands[2].replace(/[[.].*$/, "");
        if (!context.configKeys.has(key)) problems.push(`config ${operands[1]} ${operands[2]}: ${key} is a key neither program reads`);
    }
    return problems;
}

/** What is wrong with one simple command, or nothing; `base` is where its relative paths start. */
function commandProblems(command: string, base: string, context: CommandContext): string[] {
    let argv = words(command);
    // Leading variable assignments, shell keywords, and sudo with its flags.
    for (;;) {
        if (argv.length > 0 && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[0]) || ["do", "then", "else", "time"].includes(argv[0]))) argv = argv.slice(1);
        else if (argv[0] === "sudo") {
            argv = argv.slice(1);
            while (argv[0]?.startsWith("-")) argv = argv.slice(1);
        }
        else break;
    }
    const [program, ...args] = argv;
    const exists = (file: string) => placeholder(file) || fs.existsSync(path.join(ROOT, base, file));
    switch (program) {
        case "npm": {
            const operands = args.filter((arg, i) => !arg.startsWith("-") && !["-w", "--workspace"].includes(args[i - 1]));
            const [sub, script] = operands;
            if (sub === "ci" || sub === "install") return [];
            if (sub === "test") return context.scripts.test === undefined ? ["npm test: package.json has no test script"] : [];
            if (sub === "run") {
                if (script === undefined || placeholder(script)) return [];
                return context.scripts[script] === undefined ? [`npm run ${script}: package.json has no such script`] : [];
            }
            return [`npm ${sub ?? ""}: a subcommand the docs test does not know; teach it (infra/test/docs.test.ts)`];
        }
        case "bash": {
            if (args[0] === "-c" || args.length === 0) return [];
            const at = args.findIndex((arg) => !arg.startsWith("-"));
            if (at < 0) return [];
            const script = args[at];
            if (!exists(script)) return [`bash ${script}: no such file (from ${base === "." ? "the repository root" : `${base}/`})`];
            const rest = args.slice(at + 1);
            if (path.join(base, script) === path.join("e2e", "sandbox.sh")) {
                if (rest[0] === "pulumi") return pulumiProblems(rest.slice(1), context);
                if (rest[0] === "hosts" && !context.hostsSubcommands.includes(rest[1])) return [`bash e2e/sandbox.sh hosts ${rest[1] ?? ""}: e2e/test-hosts.ts accepts ${context.hostsSubcommands.join(", ")}`];
            }
            return [];
        }
        case "tsx": {
            const script = args.find((arg) => !arg.startsWith("-"));
            return script === undefined || exists(script) ? [] : [`tsx ${script}: no such file`];
        }
        case "pulumi":
            return pulumiProblems(args, context);
        default:
            return [];
    }
}

/** The command lines of a document: every line of its `sh` blocks, and inline code that starts with a command the rules know. */
function commandLines(text: string): string[] {
    const lines: string[] = [];
    for (const block of text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
        lines.push(...block[1].replace(/\\\n/g, " ").split("\n").filter((line) => line.trim() !== ""));
    }
    for (const span of prose(text).matchAll(/`([^`]+)`/g)) {
        const code = span[1].replace(/\s+/g, " ").trim();
        if (/^(npm|bash|sudo|pulumi|tsx) /.test(code)) lines.push(code);
    }
    return lines;
}

function commandContext(): CommandContext {
    const usage = /usage: ([^\n]*)/.exec(fs.readFileSync(path.join(ROOT, "e2e", "test-hosts.ts"), "utf8"));
    assert.ok(usage, "e2e/test-hosts.ts has no usage line");
    const configKeys = new Set([...AWS_ACCESS_KEYS, ...PROGRAMS.region.keys, ...PROGRAMS.anywhere.keys]);
    return {
        scripts: (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts,
        configKeys,
        // Up to the note in parentheses ("the hosts live in ...").
        hostsSubcommands: [...usage[1].split("(")[0].matchAll(/hosts (\w+)/g)].map((m) => m[1]),
    };
}

describe("docs: every command still works as written", () => {
    const context = commandContext();

    it("knows the sandbox's hosts subcommands (up, config, down)", () => {
        assert.deepEqual([...context.hostsSubcommands].sort(), ["config", "down", "up"]);
    });

    for (const [file, base] of DOCUMENTS) {
        it(`${file}: npm scripts, files, config keys and stack names exist`, () => {
            const lines = commandLines(read(file));
            const problems = lines.flatMap((line) => simpleCommands(line).flatMap((command) => commandProblems(command, base, context).map((problem) => `${problem}\n    in: ${line}`)));
            assert.deepEqual(problems, [], `${file}: commands that would not work as written`);
        });
    }

    it("catches a wrong script, file, key, stack name and hosts subcommand", () => {
        const wrong = ["npm run no-such-script", "bash hosts/bootstrap/no-such.sh", "sudo REGION=x bash hosts/bootstrap/nope.sh", "tsx worker/nope.ts", "pulumi config set -s region ecs-anywhere:noSuchKey 1", "pulumi up -s staging", "pulumi stack init prod", "bash e2e/sandbox.sh hosts start 2", "npm frobnicate"];
        for (const line of wrong) {
            assert.notDeepEqual(simpleCommands(line).flatMap((command) => commandProblems(command, ".", context)), [], `not caught: ${line}`);
        }
        const right = ['PATH="$(bash .ci/node.sh 24):$PATH" npm test', "pulumi config set -s anywhere --secret ecs-anywhere:sshPrivateKey < ~/.ssh/id_ed25519", "pulumi config set --path 'ecs-anywhere:hosts[0].hostKey' x", "pulumi stack --show-urns -s anywhere-berlin | grep -- '-pi-1-seal'", "bash e2e/sandbox.sh pulumi up -s region --yes # a comment -s nope"];
        for (const line of right) {
            assert.deepEqual(simpleCommands(line).flatMap((command) => commandProblems(command, ".", context)), [], `refused: ${line}`);
        }
    });
});

/** GitHub's anchors of a Markdown document's headings. */
function anchors(text: string): Set<string> {
    const seen = new Map<string, number>();
    const result = new Set<string>();
    for (const heading of prose(text).matchAll(/^#{1,6} (.+)$/gm)) {
        const slug = heading[1]
            .trim()
            .toLowerCase()
            .replace(/[^\p{L}\p{N} _-]/gu, "")
            .replace(/ /g, "-");
        const count = seen.get(slug) ?? 0;
        seen.set(slug, count + 1);
        result.add(count === 0 ? slug : `${slug}-${count}`);
    }
    return result;
}

/** The files under `dir` (relative to the repository root), without installed packages, builds and caches. */
function sourceFiles(dir: string, recursive: boolean): string[] {
    return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
        const name = path.join(dir, entry.name);
        if (entry.isFile()) return [name];
        return recursive && entry.isDirectory() && !["node_modules", "dist", ".cache"].includes(entry.name) ? sourceFiles(name, true) : [];
    });
}

describe("docs: links and pointers", () => {
    for (const file of DOCUMENTS.keys()) {
        it(`${file}: every relative link reaches a file and heading that exist`, () => {
            const problems: string[] = [];
            const text = prose(read(file)).replace(/`[^`]*`/g, "");
            for (const link of text.matchAll(/\]\(([^)\s]+)\)/g)) {
                const target = link[1];
                if (/^[a-z]+:/.test(target)) continue;
                const [relative, anchor] = target.split("#");
                const resolved = relative === "" ? file : path.normalize(path.join(path.dirname(file), relative));
                if (!fs.existsSync(path.join(ROOT, resolved))) {
                    problems.push(`${target}: no file ${resolved}`);
                } else if (anchor !== undefined && resolved.endsWith(".md") && !anchors(read(resolved)).has(anchor)) {
                    problems.push(`${target}: ${resolved} has no heading with the anchor #${anchor}`);
                }
            }
            assert.deepEqual(problems, [], `${file}: broken links`);
        });
    }

    it("every doc the code points to (`docs/x.md, \"Section\"`) has that file and section", () => {
        const sources = [...sourceFiles(".", false), ...["infra", "worker/src", "policy", "hosts", "e2e", ".ci"].flatMap((dir) => sourceFiles(dir, true))].filter(
            (name) => /\.(ts|sh|yaml|json)$|^\.ci\/run$/.test(name) && name !== path.join("infra", "test", "docs.test.ts"),
        );
        const problems: string[] = [];
        for (const source of sources) {
            for (const m of read(source).matchAll(/\b((?:docs|hosts)\/[\w.-]+\.md)(?:, \\?"([^"\\]+)\\?")?/g)) {
                const [, doc, section] = m;
                if (!fs.existsSync(path.join(ROOT, doc))) problems.push(`${source}: ${doc} does not exist`);
                else if (section !== undefined && !new RegExp(`^#+ ${section.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m").test(read(doc))) problems.push(`${source}: ${doc} has no section "${section}"`);
            }
        }
        assert.ok(sources.length > 50, `only ${sources.length} source files found`);
        assert.deepEqual(problems, []);
    });

    it("the sh block e2e/scenario.ts plays by hand is where it looks for it", () => {
        const scenario = read("e2e/scenario.ts");
        const calls = [...scenario.matchAll(/shellBlock\(path\.join\(ROOT, ((?:"[^"]+", )*"[^"]+")\), "([^"]+)"\)/g)];
        assert.ok(calls.length > 0, "e2e/scenario.ts reads no sh block of a doc");
        for (const [, parts, heading] of calls) {
            const file = path.join(...[...parts.matchAll(/"([^"]+)"/g)].map((m) => m[1]));
            // The e2e's own reader, which refuses a block past the next heading.
            assert.ok(shellBlock(path.join(ROOT, file), heading).length > 0, `${file}: the sh block under ${JSON.stringify(heading)} is empty`);
        }
    });
});
