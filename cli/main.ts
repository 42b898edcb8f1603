// The `stockmind` command. Output meant for scripts goes to stdout (a token is
// always the last line); logs go to stderr. Each command loads only the parts it runs.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { isConnectionError } from '../platform/postgres/pool.js';
import { prepareDatabase } from '../platform/postgres/migrate.js';
import { TENANT_ID } from '../platform/auth/tokens.js';
import { ALL_SCHEMAS } from './schemas.js';
import { runProcess } from './processes.js';
import { tokenCommand } from './token.js';
import { USAGE, UsageError } from './usage.js';

const main = async (argv: string[]): Promise<void> => {
  const [command, ...rest] = argv;
  switch (command) {
    case 'token':
      return tokenCommand(rest);
    case 'migrate': {
      const config = loadConfig(process.env, { needsJwtSecret: false });
      await prepareDatabase(config.databaseUrl, ALL_SCHEMAS, createLogger(config.logLevel, 'migrate'));
      process.stdout.write('database ready\n');
      return;
    }
    case 'webhooks': {
      if (rest[0] === 'secret') {
        const { values } = parseArgs({
          args: rest.slice(1),
          options: {
            tenant: { type: 'string' },
            marketplace: { type: 'string' },
            rotate: { type: 'boolean', default: false },
          },
        });
        const config = loadConfig(process.env, { needsJwtSecret: false });
        const secret = await (
          await import('../gateways/webhooks/main.js')
        )
          .marketplaceSecretCommand(config, createLogger(config.logLevel, 'webhooks'), {
            tenant: values.tenant ?? '',
            marketplace: values.marketplace ?? '',
            rotate: values.rotate,
          })
          .catch((err: unknown) => {
            throw err instanceof Error && err.name === 'SecretUsageError' ? new UsageError(err.message) : err;
          });
        process.stdout.write(`${secret}\n`);
        return;
      }
      if (rest.length > 0) throw new UsageError(`webhooks: unknown argument "${rest[0]}"`);
      return runProcess(command, rest);
    }
    case 'start':
    case 'core':
    case 'edge':
    case 'relay':
    case 'project':
      return runProcess(command, rest);
    case 'replay':
    case 'verify': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { tenant: { type: 'string' } },
      });
      const model = positionals[0] ?? '';
      if (values.tenant !== undefined && !TENANT_ID.test(values.tenant))
        throw new UsageError('--tenant must match ^[a-z0-9][a-z0-9-]{0,62}$');
      if (!['availability', 'analytics'].includes(model) || (command === 'verify' && model !== 'availability')) {
        throw new UsageError(command === 'replay' ? 'replay availability|analytics' : 'verify availability');
      }
      const config = loadConfig(process.env, { needsJwtSecret: false });
      const { runReadModelCommand } = await import('../projectors/rebuild/main.js');
      const code = await runReadModelCommand(
        config,
        createLogger(config.logLevel, command),
        command,
        model,
        values.tenant,
        (line) => process.stdout.write(`${line}\n`),
      );
      if (code !== 0) process.exit(code);
      return;
    }
    case 'bench': {
      const { runBench } = await import('../loadtest/bench/bench.js');
      return runBench(rest);
    }
    case 'seed': {
      const { runSeed } = await import('../loadtest/seed/main.js');
      await runSeed(rest);
      return;
    }
    case 'loadtest': {
      const { runLoadtest } = await import('../loadtest/runner/main.js');
      const { missed } = await runLoadtest(rest);
      if (missed.length > 0) process.exit(1);
      return;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
};

/** Operational failures at start say what to fix, without a stack trace. */
const startupProblem = (err: unknown): string | null => {
  if (!(err instanceof Error)) return null;
  if (/^listen E[A-Z]+/.test(err.message))
    return `cannot ${err.message}; set CORE_PORT / CORE_GRPC_PORT / CORE_HOST (EDGE_PORT / EDGE_HOST for the REST edge) to a free local address`;
  if (isConnectionError(err))
    return `cannot reach a required server (${err.message}); check DATABASE_URL (NATS_URL, REDIS_URL) and that it is running`;
  return null;
};

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`stockmind: ${err.message}\n\n${USAGE}\n`);
    else if (err instanceof ConfigError) process.stderr.write(`stockmind: ${err.message}\n`);
    else if (err instanceof Error && 'code' in err && err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      process.stderr.write(`stockmind: ${err.message}\n`);
    else if (startupProblem(err) !== null) process.stderr.write(`stockmind: ${startupProblem(err)}\n`);
    else process.stderr.write(`stockmind: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(err instanceof UsageError ? 64 : 1);
  },
);
