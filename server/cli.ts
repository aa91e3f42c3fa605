// The command line (commander): flags and KITSUNE_* variables for every scalar key of the schema,
// `--print-config-schema`, and `kitsune check-config FILE`. Exit codes: 0 done, 2 bad input.
import { dirname, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { esubOptionsFromEnv, esubPortFromEnv } from '../bridge/esub/options.ts';
import { clusterStartProblems } from './cluster.ts';
import { applyFile, checkConfigFile, checkScalars, ConfigError, defaultConfig, parseConfigFile, scalarFromText, type ServerConfig, withRealm } from './config.ts';
import { configChecks } from './config-checks.ts';
import type { ServerScalarKey } from './config-schema.ts';
import { PASSWD_DEFAULTS, type PasswdOptions } from './passwd.ts';
import { DEFAULT_MQTTS_PORT, resolveTlsPaths, tlsProblems } from './tls.ts';
import { packageVersion } from './version.ts';

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** What the command line asks: run the server (with a loader that re-reads the same sources), or exit. */
export type CliOutcome =
  | { kind: 'run'; config: ServerConfig; configFile: string | undefined; load: () => ServerConfig }
  | { kind: 'passwd'; options: PasswdOptions }
  | { kind: 'exit'; code: number };

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const envName = (key: string): string => `KITSUNE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

const PLACEHOLDER: Partial<Record<ServerScalarKey, string>> = { host: 'host', dataDir: 'dir', redis: 'url', logLevel: 'level' };

function program(output: Output): Command {
  const cmd = new Command('kitsune')
    .description('A message router: WAMP v2 and MQTT in shared realms, with the hustmq, hustdb and esub HTTP APIs.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: output.out, writeErr: output.err })
    .showHelpAfterError('(kitsune --help lists every flag)')
    .allowExcessArguments(false)
    .addOption(new Option('--config <file>', 'JSON configuration file (docs/configuration.md); env KITSUNE_CONFIG'));
  for (const [key, schema] of Object.entries(configChecks.scalarsSchema.properties) as [ServerScalarKey, { description: string; default: unknown; type: unknown; minimum?: number }][]) {
    const isFlag = schema.type === 'boolean';
    const value = PLACEHOLDER[key] ?? (key.endsWith('Port') || key === 'port' ? 'port' : 'value');
    const option = new Option(isFlag ? `--${kebab(key)}` : `--${kebab(key)} <${value}>`, `${schema.description} env ${envName(key)}`);
    // Shown by --help; only values the user gave (source 'cli') are taken, so the file can still set the key.
    option.default(schema.default, schema.default === null ? 'none' : JSON.stringify(schema.default));
    cmd.addOption(option);
  }
  cmd.addOption(new Option('--realm <name>', 'serve this open realm (anonymous clients may do everything) unless the file defines it; env KITSUNE_REALM'));
  cmd.addOption(new Option('--print-config-schema', 'print the JSON Schema of the configuration file and exit'));
  return cmd;
}

/** Builds the configuration: defaults, file, environment, flags — each checked, problems collected. */
function loader(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): { load: () => ServerConfig; configFile: string | undefined } {
  const configFile = (flags.config as string | undefined) ?? (env.KITSUNE_CONFIG || undefined);
  const realm = (flags.realm as string | undefined) ?? (env.KITSUNE_REALM || undefined);
  const load = (): ServerConfig => {
    const problems: string[] = [];
    const attempt = <T>(fn: () => T): T | undefined => {
      try {
        return fn();
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems.push(...err.problems);
        return undefined;
      }
    };
    let cfg = defaultConfig();
    if (configFile) {
      const file = attempt(() => checkConfigFile(parseConfigFile(configFile), configFile));
      if (file) cfg = applyFile(file, cfg);
      if (cfg.tls) cfg = { ...cfg, tls: resolveTlsPaths(cfg.tls, dirname(resolve(configFile))) };
    }
    const fromEnv: Record<string, unknown> = {};
    if (env.LOG_LEVEL) fromEnv.logLevel = scalarFromText('logLevel', env.LOG_LEVEL);
    const fromFlags: Record<string, unknown> = {};
    for (const key of Object.keys(configChecks.scalarsSchema.properties) as ServerScalarKey[]) {
      const text = env[envName(key)];
      if (text !== undefined && text !== '') fromEnv[key] = scalarFromText(key, text);
      if (flags[key] !== undefined) fromFlags[key] = scalarFromText(key, flags[key] as string | boolean);
    }
    const envValues = attempt(() => checkScalars(fromEnv, (path) => (path === 'logLevel' && !env.KITSUNE_LOG_LEVEL ? 'LOG_LEVEL' : envName(path))));
    const flagValues = attempt(() => checkScalars(fromFlags, (path) => `--${kebab(path)}`));
    if (flags.dataDir !== undefined && flags.memory) problems.push('--data-dir and --memory exclude each other');
    // esub's own variables (the original server's): checked here so a bad one is a start error too
    for (const check of [esubOptionsFromEnv, esubPortFromEnv]) {
      try {
        check(env);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    cfg = { ...cfg, ...envValues, ...flagValues };
    problems.push(...tlsProblems(cfg.tls));
    if (cfg.mqttsPort !== null && !cfg.tls?.mqttsPort) problems.push(`mqttsPort: ${cfg.mqttsPort} needs tls.mqttsPort (its certificate and key)`);
    if (problems.length) throw new ConfigError(problems);
    if (cfg.mqttsPort === null && cfg.tls?.mqttsPort) cfg = { ...cfg, mqttsPort: DEFAULT_MQTTS_PORT };
    return realm ? withRealm(cfg, realm) : cfg;
  };
  return { load, configFile };
}

/** `kitsune check-config FILE`: 0 and "FILE: ok", or 2 and one line per problem. */
function checkConfig(file: string, output: Output): number {
  try {
    checkConfigFile(parseConfigFile(file), file);
    output.out(`${file}: ok\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    output.err(`${err.problems.join('\n')}\n`);
    return 2;
  }
}

function costArg(text: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new InvalidArgumentError('not a positive integer');
  return Number(text);
}

export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv, output: Output): CliOutcome {
  const cmd = program(output);
  let outcome: CliOutcome | undefined;
  cmd
    .command('check-config')
    .description('check a configuration file against the schema and exit (0: valid, 2: the problems)')
    .argument('<file>', 'the JSON configuration file')
    .action((file: string) => {
      outcome = { kind: 'exit', code: checkConfig(file, output) };
    });
  cmd
    .command('passwd')
    .description('read a password (stdin, or a prompt without echo) and print its hashed form for a ticket in the config file')
    .addOption(new Option('--algorithm <name>', 'the hash').choices(['scrypt', 'pbkdf2-sha256']).default('scrypt'))
    .addOption(new Option('--cost <n>', `scrypt: log2 of N; pbkdf2-sha256: iterations (defaults: ${PASSWD_DEFAULTS})`).argParser(costArg))
    .action((opts: { algorithm: PasswdOptions['algorithm']; cost?: number }) => {
      outcome = { kind: 'passwd', options: { algorithm: opts.algorithm, cost: opts.cost } };
    });
  cmd.action(() => {
    const flags = Object.fromEntries(Object.entries(cmd.opts()).filter(([key]) => cmd.getOptionValueSource(key) === 'cli'));
    if (flags.printConfigSchema) {
      output.out(`${JSON.stringify(configChecks.fileSchema, null, 2)}\n`);
      outcome = { kind: 'exit', code: 0 };
      return;
    }
    const { load, configFile } = loader(flags, env);
    try {
      const config = load();
      const problems = clusterStartProblems(config.redis, config.cluster, env);
      if (problems.length > 0) throw new ConfigError(problems);
      outcome = { kind: 'run', config, configFile, load };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      output.err(`${err.problems.join('\n')}\n`);
      outcome = { kind: 'exit', code: 2 };
    }
  });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return { kind: 'exit', code: err.exitCode === 0 ? 0 : 2 };
    throw err;
  }
  return outcome ?? { kind: 'exit', code: 2 };
}
